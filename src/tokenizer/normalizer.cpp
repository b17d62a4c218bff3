// The normalizer factory: maps tokenizer.json "type" tags to the parsers in normalizer_<type>.cpp,
// and the transform helper they share. Not an implementation of any normalizer.
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
  if (type == "NFD" || type == "NFKD" || type == "NFC" || type == "NFKC") {
    return unicode_normalizer_from_json(j, type, out);
  }
  if (type == "Strip") return strip_normalizer_from_json(j, out);
  if (type == "StripAccents") return strip_accents_normalizer_from_json(j, out);
  if (type == "Replace") return replace_normalizer_from_json(j, out);
  if (type == "Prepend") return prepend_normalizer_from_json(j, out);
  if (type == "Precompiled") return precompiled_normalizer_from_json(j, out);
  if (type == "ByteLevel") return byte_level_normalizer_from_json(j, out);
  return make_error(
      "normalizer type \"%s\" is not supported (supported: BertNormalizer, ByteLevel, Lowercase, "
      "NFC, NFD, NFKC, NFKD, Precompiled, Prepend, Replace, Sequence, Strip, StripAccents)",
      type.c_str());
}

void transform_with_leading_inserts(NormalizedString* s,
                                    const std::vector<std::pair<char32_t, int>>& dest,
                                    size_t initial_removed) {
  size_t leading = 0;
  while (initial_removed == 0 && leading < dest.size() && dest[leading].second > 0) ++leading;
  if (leading == 0) {
    s->transform(dest, initial_removed);
    return;
  }
  const uint32_t start = s->chars.empty() ? 0 : s->chars.front().begin;
  s->transform({dest.begin() + static_cast<std::ptrdiff_t>(leading), dest.end()},
               initial_removed);
  std::vector<AlignedChar> front;
  front.reserve(leading);
  for (size_t i = 0; i < leading; ++i) front.push_back({dest[i].first, start, start});
  s->chars.insert(s->chars.begin(), front.begin(), front.end());
}

}  // namespace embtune
