// Small string predicates shared across modules (suffix tests, blank text).
// Not Unicode-aware text handling: see core/utf8.h and tokenizer/unicode.h for that.
#pragma once

#include <algorithm>
#include <string_view>

namespace embtune {

inline bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Empty or only ASCII whitespace (space, \t, \n, \v, \f, \r).
inline bool is_blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; });
}

}  // namespace embtune
