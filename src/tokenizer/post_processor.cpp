// The post-processor factory: maps tokenizer.json "type" tags to post_processor_<type>.cpp.
// Not an implementation of any post-processor.
#include "tokenizer/post_processor.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "tokenizer/json_fields.h"

namespace embtune {

Status post_processor_from_json(const nlohmann::json& j, std::unique_ptr<PostProcessor>* out) {
  out->reset();
  if (j.is_null()) return Status();
  std::string type;
  ET_RETURN_IF_ERROR(json_read_type(j, "post_processor", &type));
  if (type == "TemplateProcessing") return template_processing_from_json(j, out);
  if (type == "BertProcessing") return bert_processing_from_json(j, out);
  return make_error(
      "post_processor type \"%s\" is not supported (supported: TemplateProcessing, "
      "BertProcessing)",
      type.c_str());
}

void encoding_wrap(Encoding* enc, bool add_special_tokens, const std::vector<AddedSpecial>& prefix,
                   int32_t type_id, const std::vector<AddedSpecial>& suffix) {
  std::fill(enc->type_ids.begin(), enc->type_ids.end(), type_id);
  if (!add_special_tokens) return;
  const size_t n = prefix.size();
  const size_t total = n + enc->ids.size() + suffix.size();
  auto place = [&](auto& v, auto value_of_special) {
    v.reserve(total);
    v.insert(v.begin(), n, value_of_special(AddedSpecial{0, 0}));
    for (size_t i = 0; i < n; ++i) v[i] = value_of_special(prefix[i]);
    for (const AddedSpecial& s : suffix) v.push_back(value_of_special(s));
  };
  place(enc->ids, [](const AddedSpecial& s) { return s.id; });
  place(enc->type_ids, [](const AddedSpecial& s) { return s.type_id; });
  place(enc->offsets, [](const AddedSpecial&) { return std::pair<uint32_t, uint32_t>(0, 0); });
  place(enc->special_tokens_mask, [](const AddedSpecial&) { return uint8_t{1}; });
}

}  // namespace embtune
