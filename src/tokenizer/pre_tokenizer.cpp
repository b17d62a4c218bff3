// The pre-tokenizer factory: maps tokenizer.json "type" tags to pre_tokenizer_<type>.cpp.
// Not an implementation of any pre-tokenizer.
#include "tokenizer/pre_tokenizer.h"

#include <nlohmann/json.hpp>

#include "tokenizer/json_fields.h"

namespace embtune {

Status pre_tokenizer_from_json(const nlohmann::json& j, std::unique_ptr<PreTokenizer>* out) {
  out->reset();
  if (j.is_null()) return Status();
  std::string type;
  ET_RETURN_IF_ERROR(json_read_type(j, "pre_tokenizer", &type));
  if (type == "BertPreTokenizer") {
    *out = make_bert_pre_tokenizer();
    return Status();
  }
  return make_error("pre_tokenizer type \"%s\" is not supported (supported: BertPreTokenizer)",
                    type.c_str());
}

}  // namespace embtune
