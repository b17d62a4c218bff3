// Code point classes of Hugging Face tokenizers' BERT stages, as sorted range tables generated
// from the peer (unicode_tables.cpp). Not a Unicode database: lookups live in unicode.h.
#pragma once

#include <span>

namespace embtune {

struct CodepointRange {
  char32_t first;
  char32_t last;  // inclusive
};

// Each table is sorted and non-overlapping.
extern const std::span<const CodepointRange> hf_clean_removed;
extern const std::span<const CodepointRange> hf_punctuation;
extern const std::span<const CodepointRange> hf_nonspacing_mark;
extern const std::span<const CodepointRange> hf_combining_mark;
extern const std::span<const CodepointRange> hf_canonical_decomposable;
extern const std::span<const CodepointRange> hf_compat_decomposable;
extern const std::span<const CodepointRange> hf_strip_accents_mark;
extern const std::span<const CodepointRange> hf_numeric;
extern const std::span<const CodepointRange> hf_word;

}  // namespace embtune
