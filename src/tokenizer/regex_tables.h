// The code points that each Unicode property escape of a regex matches in Hugging Face
// tokenizers' Oniguruma, as sorted range tables generated from the peer (regex_tables.cpp, by
// tests/peer/make_regex_tables.js). Not a regex engine: onig_regex.cpp spells these ranges into
// patterns so Debian's older libonig matches what HF's newer copy matches.
#pragma once

#include <span>
#include <string_view>

#include "tokenizer/unicode_tables.h"

namespace embtune {

struct RegexClassTable {
  const char* name;  // "\\w", "\\d", "\\s" for the escapes; otherwise the \p{...} name ("L", "Han")
  std::span<const CodepointRange> ranges;
};

// Every table, each sorted and non-overlapping.
const std::span<const RegexClassTable> hf_regex_classes_table();
// The ranges of the table named `name` (exactly as in RegexClassTable::name); fails if absent.
std::span<const CodepointRange> hf_regex_class(std::string_view name);

}  // namespace embtune
