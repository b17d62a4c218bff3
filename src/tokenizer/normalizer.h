// The normalizer stage (tokenizer.json "normalizer"): an interface, one implementation per "type"
// in normalizer_<type>.cpp, and the factory that picks one. Not the pre-tokenizer or the model.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "tokenizer/normalized_string.h"

namespace embtune {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(NormalizedString* s) const = 0;
  // e.g. "BertNormalizer(clean_text, chinese, strip_accents, lowercase)"
  virtual std::string describe() const = 0;
};

// Builds the normalizer a tokenizer.json object describes (dispatching on "type"). A null `j`
// gives a null *out. Errors name the offending type or field; the caller adds the file.
Status normalizer_from_json(const nlohmann::json& j, std::unique_ptr<Normalizer>* out);

struct BertNormalizerOptions {
  bool clean_text = true;
  bool handle_chinese_chars = true;
  std::optional<bool> strip_accents;  // unset: follows lowercase
  bool lowercase = true;
};
std::unique_ptr<Normalizer> make_bert_normalizer(const BertNormalizerOptions& opt);

// One parser per type, called by normalizer_from_json.
Status bert_normalizer_from_json(const nlohmann::json& j, std::unique_ptr<Normalizer>* out);
Status lowercase_normalizer_from_json(const nlohmann::json& j, std::unique_ptr<Normalizer>* out);
Status sequence_normalizer_from_json(const nlohmann::json& j, std::unique_ptr<Normalizer>* out);
// "NFD", "NFKD", "NFC" and "NFKC" (normalizer_unicode.cpp); `type` is the tag.
Status unicode_normalizer_from_json(const nlohmann::json& j, const std::string& type,
                                    std::unique_ptr<Normalizer>* out);
// "Strip" and "StripAccents" (normalizer_strip.cpp).
Status strip_normalizer_from_json(const nlohmann::json& j, std::unique_ptr<Normalizer>* out);
Status strip_accents_normalizer_from_json(const nlohmann::json& j,
                                          std::unique_ptr<Normalizer>* out);
Status replace_normalizer_from_json(const nlohmann::json& j, std::unique_ptr<Normalizer>* out);
Status prepend_normalizer_from_json(const nlohmann::json& j, std::unique_ptr<Normalizer>* out);
Status precompiled_normalizer_from_json(const nlohmann::json& j, std::unique_ptr<Normalizer>* out);
Status byte_level_normalizer_from_json(const nlohmann::json& j, std::unique_ptr<Normalizer>* out);

// The lowercase step shared by Lowercase and BertNormalizer (Rust char::to_lowercase per char).
void lowercase_text(NormalizedString* s);

// HF's NormalizedString::transform over the whole string (see NormalizedString::transform for the
// change codes), including the case that method refuses: characters inserted before any input
// character take an empty range at the start of the text, as HF's (0, 0) alignment does.
void transform_with_leading_inserts(NormalizedString* s,
                                    const std::vector<std::pair<char32_t, int>>& dest,
                                    size_t initial_removed);

}  // namespace embtune
