// The normalizer stage (tokenizer.json "normalizer"): an interface, one implementation per "type"
// in normalizer_<type>.cpp, and the factory that picks one. Not the pre-tokenizer or the model.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

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

// The lowercase step shared by Lowercase and BertNormalizer (Rust char::to_lowercase per char).
void lowercase_text(NormalizedString* s);

}  // namespace embtune
