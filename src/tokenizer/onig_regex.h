// A compiled Oniguruma regular expression (Ruby syntax, UTF-8), iterated as HF tokenizers'
// SysRegex (the onig crate's find_iter) does, with HF's Unicode for property escapes.
// Not a general regex API: no captures, no replace.
#pragma once

#include <cstddef>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace embtune {

// `pattern` with every \w \d \s (and \W \D \S) and every \p{X} / \P{X} / \p{^X} whose X is in
// regex_tables.h (general categories by short or long name, a few scripts) spelled out as the
// explicit code point ranges HF's Oniguruma matches: Debian's libonig has older Unicode tables
// (letters added in Unicode 15-16 are not \p{L} there). Other escapes and names pass unchanged.
std::string with_hf_unicode_classes(std::string_view pattern);

class OnigRegex;

// A tokenizer.json "pattern" object of the Replace stages, {"String": s} (matched literally: HF
// escapes it as Rust's regex::escape does) or {"Regex": r}, compiled. *desc: the pattern as
// written. Errors start with `stage` ("Replace normalizer").
Status compile_pattern_json(const nlohmann::json& pattern, const char* stage,
                            std::unique_ptr<OnigRegex>* out, std::string* desc);

class OnigRegex {
 public:
  // Compiles a UTF-8 pattern with Oniguruma's Ruby syntax, as HF tokenizers' onig crate does,
  // after with_hf_unicode_classes. Errors name the pattern as given.
  static Status compile(std::string_view pattern, std::unique_ptr<OnigRegex>* out);
  ~OnigRegex();
  OnigRegex(const OnigRegex&) = delete;
  OnigRegex& operator=(const OnigRegex&) = delete;

  // Every non-overlapping match of the pattern in `text` (UTF-8), left to right, as byte ranges
  // [begin, end); an empty match advances by one character (as HF's find_iter). Thread-safe
  // (const, concurrent calls allowed).
  void find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>* out) const;

 private:
  explicit OnigRegex(void* regex) : regex_(regex) {}
  void* regex_;  // regex_t*, owned; kept opaque so callers need not include oniguruma.h
};

}  // namespace embtune
