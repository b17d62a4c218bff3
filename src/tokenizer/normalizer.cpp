// The normalizer factory: maps tokenizer.json "type" tags to the parsers in normalizer_<type>.cpp.
// Not an implementation of any normalizer.
#include "tokenizer/normalizer.h"

#include <nlohmann/json.hpp>

#include "tokenizer/json_fields.h"

namespace embtune {

Status normalizer_from_json(const nlohmann::json& j, std::unique_ptr<Normalizer>* out) {
  out->reset();
  if (j.is_null()) return Status();
  std::string type;
  ET_RETURN_IF_ERROR(json_read_type(j, "normalizer", &type));
  if (type == "BertNormalizer") return bert_normalizer_from_json(j, out);
  if (type == "Lowercase") return lowercase_normalizer_from_json(j, out);
  if (type == "Sequence") return sequence_normalizer_from_json(j, out);
  return make_error(
      "normalizer type \"%s\" is not supported (supported: BertNormalizer, "
      "Lowercase, Sequence)",
      type.c_str());
}

}  // namespace embtune
