// The strict UTF-8 codec shared by the tokenizer, the input readers and text preparation.
// Not a transcoder: UTF-16 and legacy encodings are out of scope.
#include "core/utf8.h"

namespace embtune {

size_t utf8_next(const unsigned char* s, size_t n, size_t i, char32_t* c) {
  const unsigned char b = s[i];
  if (b < 0x80) {
    *c = b;
    return 1;
  }
  size_t len;
  char32_t v, min;
  if ((b & 0xE0) == 0xC0) {
    len = 2, v = b & 0x1F, min = 0x80;
  } else if ((b & 0xF0) == 0xE0) {
    len = 3, v = b & 0x0F, min = 0x800;
  } else if ((b & 0xF8) == 0xF0) {
    len = 4, v = b & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > n) return 0;
  for (size_t k = 1; k < len; ++k) {
    const unsigned char cb = s[i + k];
    if ((cb & 0xC0) != 0x80) return 0;
    v = (v << 6) | (cb & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
  *c = v;
  return len;
}

bool utf8_decode(std::string_view text, std::vector<char32_t>* out, size_t* bad_offset) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  out->reserve(out->size() + n);
  for (size_t i = 0; i < n;) {
    char32_t c;
    const size_t len = utf8_next(s, n, i, &c);
    if (len == 0) {
      *bad_offset = i;
      return false;
    }
    out->push_back(c);
    i += len;
  }
  return true;
}

bool utf8_valid(std::string_view text, size_t* bad_offset) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    if (s[i] < 0x80) {
      ++i;
      continue;
    }
    char32_t c;
    const size_t len = utf8_next(s, n, i, &c);
    if (len == 0) {
      *bad_offset = i;
      return false;
    }
    i += len;
  }
  return true;
}

void utf8_append(char32_t c, std::string* out) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (c >> 6)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (c >> 12)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (c >> 18)));
    out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

}  // namespace embtune
