// The HF-equivalent character facts declared in unicode.h (the UTF-8 codec is core/utf8.h).
// Not a normalizer: the stages that apply these facts to text live in normalizer_*.cpp.
#include "tokenizer/unicode.h"

#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <span>

#include "core/status.h"
#include "tokenizer/unicode_tables.h"

namespace embtune {

bool codepoint_in(std::span<const CodepointRange> table, char32_t c) {
  auto it = std::upper_bound(table.begin(), table.end(), c,
                             [](char32_t v, const CodepointRange& r) { return v < r.first; });
  return it != table.begin() && c <= (it - 1)->last;
}

namespace unicode_detail {

static constexpr uint8_t make_ascii_class(int c) {
  uint8_t k = 0;
  if (c == ' ' || (c >= 0x09 && c <= 0x0D)) k |= kAsciiWhitespace;
  if ((c < 0x20 || c == 0x7F) && c != '\t' && c != '\n' && c != '\r') k |= kAsciiCleanRemoved;
  if ((c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) ||
      (c >= 0x7B && c <= 0x7E)) {
    k |= kAsciiPunctuation;
  }
  if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_') {
    k |= kAsciiWord;
  }
  return k;
}

static constexpr std::array<uint8_t, 128> build_ascii_classes() {
  std::array<uint8_t, 128> t{};
  for (int c = 0; c < 128; ++c) t[c] = make_ascii_class(c);
  return t;
}

const std::array<uint8_t, 128> ascii_classes = build_ascii_classes();

bool is_whitespace_slow(char32_t c) {
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
         c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool is_clean_text_removed_slow(char32_t c) { return codepoint_in(hf_clean_removed, c); }

bool is_bert_punctuation_slow(char32_t c) { return codepoint_in(hf_punctuation, c); }

bool is_word_char_slow(char32_t c) { return codepoint_in(hf_word, c); }

// Lowercase pairs newer than utf8proc 2.8 (Unicode 15) that Rust std (Unicode 17) maps.
struct LowercaseShift {
  char32_t first, last;
  int32_t delta;
};
static const LowercaseShift newer_lowercase[] = {
    {0x1C89, 0x1C89, 1},      {0xA7CB, 0xA7CB, 0x0264 - 0xA7CB},
    {0xA7CC, 0xA7CC, 1},      {0xA7CE, 0xA7CE, 1},
    {0xA7D2, 0xA7D2, 1},      {0xA7D4, 0xA7D4, 1},
    {0xA7DA, 0xA7DA, 1},      {0xA7DC, 0xA7DC, 0x019B - 0xA7DC},
    {0x10D50, 0x10D65, 0x20}, {0x16EA0, 0x16EB8, 0x1B},
};

int to_lowercase_slow(char32_t c, char32_t* out) {
  if (c == 0x130) {  // the one unconditional multi-character lowercase mapping
    out[0] = 'i';
    out[1] = 0x307;
    return 2;
  }
  for (const LowercaseShift& s : newer_lowercase) {
    if (c >= s.first && c <= s.last) {
      out[0] = static_cast<char32_t>(static_cast<int32_t>(c) + s.delta);
      return 1;
    }
  }
  out[0] = static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c)));
  return 1;
}

}  // namespace unicode_detail

bool is_nonspacing_mark(char32_t c) { return c >= 0x300 && codepoint_in(hf_nonspacing_mark, c); }

int canonical_decompose(char32_t c, char32_t out[kMaxDecomposition]) {
  // utf8proc's Unicode is newer than HF's NFD tables (U+11938, Unicode 13, decomposes only in
  // utf8proc): what HF does not decompose stays.
  if (c < 0xC0 || !codepoint_in(hf_canonical_decomposable, c)) {
    out[0] = c;
    return 1;
  }
  utf8proc_int32_t buf[kMaxDecomposition];
  int last_boundclass = 0;
  utf8proc_ssize_t n =
      utf8proc_decompose_char(static_cast<utf8proc_int32_t>(c), buf, kMaxDecomposition,
                              UTF8PROC_DECOMPOSE, &last_boundclass);
  ET_CHECK(n >= 1 && n <= kMaxDecomposition);
  for (utf8proc_ssize_t i = 0; i < n; ++i) out[i] = static_cast<char32_t>(buf[i]);
  return static_cast<int>(n);
}

uint8_t combining_class(char32_t c) {
  if (c < 0x300 || !codepoint_in(hf_combining_mark, c)) return 0;
  return static_cast<uint8_t>(
      utf8proc_get_property(static_cast<utf8proc_int32_t>(c))->combining_class);
}

}  // namespace embtune
