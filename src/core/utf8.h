// UTF-8 decoding, validation and encoding, strict as Rust's str and Python's codec are
// (no overlong forms, surrogates or values past U+10FFFF). Not Unicode character properties.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace embtune {

// Decodes the sequence starting at byte i of s (n bytes): returns its length (1-4) and sets *c,
// or returns 0 when the bytes there are not valid UTF-8.
size_t utf8_next(const unsigned char* s, size_t n, size_t i, char32_t* c);

// Decodes `text` into code points, appending to `out`. Returns false on invalid UTF-8 and sets
// `*bad_offset` to the byte offset of the offending sequence.
bool utf8_decode(std::string_view text, std::vector<char32_t>* out, size_t* bad_offset);
// True when `text` is valid UTF-8; otherwise sets `*bad_offset` as utf8_decode does.
bool utf8_valid(std::string_view text, size_t* bad_offset);
// Appends the UTF-8 encoding of `c` (a Unicode scalar value).
void utf8_append(char32_t c, std::string* out);

}  // namespace embtune
