// The "Strip" (leading/trailing whitespace) and "StripAccents" (combining marks) normalizers, as
// HF's normalizers/strip.rs. Not the BertNormalizer's strip_accents, which removes only Mn.
#include <utf8proc.h>

#include <nlohmann/json.hpp>

#include "core/utf8.h"
#include "tokenizer/json_fields.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/unicode.h"

namespace embtune {
namespace {

size_t utf8_size(char32_t c) { return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4; }

class StripNormalizer : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}

  void normalize(NormalizedString* s) const override {
    if (left_ && right_) {
      strip(s, true, true);
    } else {
      if (left_) strip(s, true, false);
      if (right_) strip(s, false, true);
    }
  }

  std::string describe() const override {
    return std::string("Strip(") + (left_ ? "left" : "") + (left_ && right_ ? ", " : "") +
           (right_ ? "right" : "") + ")";
  }

 private:
  // HF's NormalizedString::lrstrip, quirk included: the trailing cut compares character indices
  // with the UTF-8 byte length, so after multi-byte text trailing whitespace may stay.
  static void strip(NormalizedString* s, bool left, bool right) {
    const std::vector<AlignedChar>& chars = s->chars;
    size_t leading = 0;
    if (left) {
      while (leading < chars.size() && is_whitespace(chars[leading].c)) ++leading;
    }
    size_t trailing = 0;
    if (right) {
      while (trailing < chars.size() && is_whitespace(chars[chars.size() - 1 - trailing].c)) {
        ++trailing;
      }
    }
    if (leading == 0 && trailing == 0) return;
    size_t bytes = 0;
    for (const AlignedChar& a : chars) bytes += utf8_size(a.c);
    std::vector<std::pair<char32_t, int>> dest;
    dest.reserve(chars.size());
    for (size_t i = 0; i < chars.size(); ++i) {
      if (i < leading || i + trailing >= bytes) continue;
      if (i + trailing + 1 == bytes) {
        dest.emplace_back(chars[i].c, -static_cast<int>(trailing));
      } else {
        dest.emplace_back(chars[i].c, 0);
      }
    }
    transform_with_leading_inserts(s, dest, leading);
  }

  bool left_;
  bool right_;
};

// unicode-normalization's is_combining_mark (Mn, Mc, Me), from HF's tables: utf8proc knows
// marks added to Unicode since.
bool is_mark(char32_t c) { return c >= 0x300 && codepoint_in(hf_strip_accents_mark, c); }

class StripAccentsNormalizer : public Normalizer {
 public:
  void normalize(NormalizedString* s) const override {
    s->filter([](char32_t c) { return !is_mark(c); });
  }
  std::string describe() const override { return "StripAccents"; }
};

}  // namespace

Status strip_normalizer_from_json(const nlohmann::json& j, std::unique_ptr<Normalizer>* out) {
  bool left = true;
  bool right = true;
  ET_RETURN_IF_ERROR(json_read_bool(j, "strip_left", &left).wrap("Strip normalizer"));
  ET_RETURN_IF_ERROR(json_read_bool(j, "strip_right", &right).wrap("Strip normalizer"));
  *out = std::make_unique<StripNormalizer>(left, right);
  return Status();
}

Status strip_accents_normalizer_from_json(const nlohmann::json& j,
                                          std::unique_ptr<Normalizer>* out) {
  *out = std::make_unique<StripAccentsNormalizer>();
  return Status();
}

}  // namespace embtune
