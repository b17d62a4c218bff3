// The "Lowercase" normalizer: Rust char::to_lowercase on every character.
// Not case folding (no ß -> ss) and not locale-aware (no Turkish dotless i rules).
#include <nlohmann/json.hpp>

#include "tokenizer/normalizer.h"
#include "tokenizer/unicode.h"

namespace embtune {

void lowercase_text(NormalizedString* s) {
  bool expands = false;
  for (const AlignedChar& a : s->chars) {
    if (a.c == 0x130) {
      expands = true;
      break;
    }
  }
  if (expands) {
    s->expand<kMaxLowercase>([](char32_t c, char32_t* out) { return to_lowercase(c, out); });
  } else {
    s->map([](char32_t c) {
      char32_t out[kMaxLowercase];
      to_lowercase(c, out);
      return out[0];
    });
  }
}

namespace {

class LowercaseNormalizer : public Normalizer {
 public:
  void normalize(NormalizedString* s) const override { lowercase_text(s); }
  std::string describe() const override { return "Lowercase"; }
};

}  // namespace

Status lowercase_normalizer_from_json(const nlohmann::json& j, std::unique_ptr<Normalizer>* out) {
  *out = std::make_unique<LowercaseNormalizer>();
  return Status();
}

}  // namespace embtune
