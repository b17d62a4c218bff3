// The post-processor factory: maps tokenizer.json "type" tags to post_processor_<type>.cpp.
// Not an implementation of any post-processor.
#include "tokenizer/post_processor.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/utf8.h"
#include "tokenizer/json_fields.h"

namespace embtune {

Status post_processor_from_json(const nlohmann::json& j, std::unique_ptr<PostProcessor>* out) {
  out->reset();
  if (j.is_null()) return Status();
  std::string type;
  ET_RETURN_IF_ERROR(json_read_type(j, "post_processor", &type));
  if (type == "TemplateProcessing") return template_processing_from_json(j, out);
  if (type == "BertProcessing") return bert_processing_from_json(j, out);
  if (type == "RobertaProcessing") return roberta_processing_from_json(j, out);
  if (type == "ByteLevel") return byte_level_processing_from_json(j, out);
  if (type == "Sequence") return sequence_processing_from_json(j, out);
  return make_error(
      "post_processor type \"%s\" is not supported (supported: TemplateProcessing, "
      "BertProcessing, RobertaProcessing, ByteLevel, Sequence)",
      type.c_str());
}

namespace {

// Rust's char::is_whitespace (the White_Space property), which HF's trimming uses.
bool is_white_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

}  // namespace

bool is_offset_trim_space(char32_t c) { return c == 0x120 || is_white_space(c); }  // 'Ġ' is a space

void trim_token_offsets(std::pair<uint32_t, uint32_t>* offsets, size_t leading, size_t trailing,
                        bool is_first, bool add_prefix_space) {
  auto& [begin, end] = *offsets;
  if (leading > 0) {
    if (is_first && add_prefix_space && leading == 1) leading = 0;
    begin = std::min<uint32_t>(begin + static_cast<uint32_t>(leading), end);
  }
  if (trailing > 0 && end >= trailing) {
    end = std::max<uint32_t>(end - static_cast<uint32_t>(trailing), begin);
  }
}

void encoding_trim_offsets(Encoding* enc, const Model& model, bool add_prefix_space) {
  std::vector<char32_t> chars;
  for (size_t i = 0; i < enc->ids.size(); ++i) {
    const std::string* token = model.id_to_token(enc->ids[i]);
    if (token == nullptr) continue;
    chars.clear();
    size_t bad_offset = 0;
    utf8_decode(*token, &chars, &bad_offset);
    size_t leading = 0, trailing = 0;
    while (leading < chars.size() && is_offset_trim_space(chars[leading])) ++leading;
    while (trailing < chars.size() && is_offset_trim_space(chars[chars.size() - 1 - trailing])) {
      ++trailing;
    }
    trim_token_offsets(&enc->offsets[i], leading, trailing,
                       i == 0 || enc->offsets[i].first == 0, add_prefix_space);
  }
}

void encoding_wrap(Encoding* enc, bool add_special_tokens, const std::vector<AddedSpecial>& prefix,
                   int32_t type_id, const std::vector<AddedSpecial>& suffix) {
  std::fill(enc->type_ids.begin(), enc->type_ids.end(), type_id);
  if (add_special_tokens) encoding_add_specials(enc, prefix, suffix);
}

void encoding_add_specials(Encoding* enc, const std::vector<AddedSpecial>& prefix,
                           const std::vector<AddedSpecial>& suffix) {
  if (prefix.empty() && suffix.empty()) return;
  // A hand-built encoding may lack sequence ids: its tokens belong to the first text.
  if (enc->sequence_ids.size() != enc->ids.size()) enc->sequence_ids.assign(enc->ids.size(), 0);
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
  place(enc->sequence_ids, [](const AddedSpecial&) { return int8_t{-1}; });
}

}  // namespace embtune
