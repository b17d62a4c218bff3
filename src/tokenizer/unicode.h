// UTF-8 decoding/encoding and the per-character Unicode facts the tokenizer stages need, each
// defined as Hugging Face tokenizers (Rust) defines it. Not a general Unicode library.
//
// HF mixes two Unicode eras: Rust std (whitespace, lowercase) is current, while the crates behind
// categories (unicode_categories) and NFD (unicode-normalization-alignments) froze Unicode 9-era
// tables. The category classes therefore come from tables measured on the peer
// (unicode_tables.cpp); NFD and lowercase use utf8proc with the few differences listed in
// unicode.cpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <span>
#include <string_view>
#include <vector>

#include "core/utf8.h"
#include "tokenizer/unicode_tables.h"

namespace embtune {

namespace unicode_detail {
enum AsciiClass : uint8_t {
  kAsciiWhitespace = 1,    // \t \n \v \f \r and space
  kAsciiCleanRemoved = 2,  // controls other than \t \n \r
  kAsciiPunctuation = 4,
  kAsciiWord = 8,  // [0-9A-Za-z_]
};
extern const std::array<uint8_t, 128> ascii_classes;
bool is_whitespace_slow(char32_t c);
bool is_clean_text_removed_slow(char32_t c);
bool is_bert_punctuation_slow(char32_t c);
bool is_word_char_slow(char32_t c);
int to_lowercase_slow(char32_t c, char32_t* out);
}  // namespace unicode_detail

// Rust char::is_whitespace (Unicode White_Space); also the regex \s of added-token stripping.
inline bool is_whitespace(char32_t c) {
  return c < 0x80 ? (unicode_detail::ascii_classes[c] & unicode_detail::kAsciiWhitespace) != 0
                  : unicode_detail::is_whitespace_slow(c);
}
// BertNormalizer clean_text drops it: U+0000, U+FFFD and Cc/Cf/Co other than \t \n \r.
inline bool is_clean_text_removed(char32_t c) {
  return c < 0x80 ? (unicode_detail::ascii_classes[c] & unicode_detail::kAsciiCleanRemoved) != 0
                  : unicode_detail::is_clean_text_removed_slow(c);
}
// BertPreTokenizer punctuation: ASCII punctuation or a P* category.
inline bool is_bert_punctuation(char32_t c) {
  return c < 0x80 ? (unicode_detail::ascii_classes[c] & unicode_detail::kAsciiPunctuation) != 0
                  : unicode_detail::is_bert_punctuation_slow(c);
}
// Regex \w (Alphabetic, marks, decimal digits, connector punctuation, joiners): the word test of
// added tokens with single_word.
inline bool is_word_char(char32_t c) {
  return c < 0x80 ? (unicode_detail::ascii_classes[c] & unicode_detail::kAsciiWord) != 0
                  : unicode_detail::is_word_char_slow(c);
}
// Whether `c` lies in a sorted range table (unicode_tables.h, regex_tables.h).
bool codepoint_in(std::span<const CodepointRange> table, char32_t c);

// Category Mn, removed by strip_accents after NFD.
bool is_nonspacing_mark(char32_t c);
// The CJK ideograph blocks BertNormalizer pads with spaces.
inline bool is_cjk_ideograph(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// Longest full canonical decomposition of one code point (U+1F82 etc.).
constexpr int kMaxDecomposition = 4;
// Writes the full canonical decomposition (NFD) of `c` to `out`; returns its length (1 and
// out[0] == c when `c` does not decompose).
int canonical_decompose(char32_t c, char32_t out[kMaxDecomposition]);
// Canonical combining class (0 for starters), as HF's NFD tables know it.
uint8_t combining_class(char32_t c);

// Longest lowercase mapping of one code point (U+0130 -> "i\u0307").
constexpr int kMaxLowercase = 2;
// Rust char::to_lowercase: writes the lowercase mapping of `c`; returns its length.
inline int to_lowercase(char32_t c, char32_t out[kMaxLowercase]) {
  if (c < 0x80) {
    out[0] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
    return 1;
  }
  return unicode_detail::to_lowercase_slow(c, out);
}

}  // namespace embtune
