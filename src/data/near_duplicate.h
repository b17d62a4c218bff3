// Near-duplicate detection of texts: word shingles after Unicode normalisation, their exact
// Jaccard similarity, MinHash signatures and an LSH (banding) index that finds the pairs of two
// text sets likely above a Jaccard threshold. Not embedding similarity and not file reading.
//
// Usage:
//   NearDuplicateOptions opt;                       // 3-word shingles, 128 hashes in 32 bands
//   double j = shingle_jaccard("The cat sat.", "the  cat sat", opt);   // 1.0
//   std::vector<NearDuplicatePair> pairs;
//   near_duplicate_pairs(train_texts, eval_texts, 0.8, opt, &pairs);   // verified: jaccard >= 0.8
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace embtune {

struct NearDuplicateOptions {
  int shingle_words = 3;  // words per shingle; a text with fewer words is one shingle of them all
  int num_hashes = 128;   // MinHash signature length
  int bands = 32;         // LSH bands (num_hashes must be a multiple); rows per band = num_hashes / bands
  uint64_t seed = 0;
};

// The normalised words of a text: NFKC, case-folded, split into maximal runs of letters, marks and
// digits (Unicode categories L, M, N); everything else separates words.
// Invalid UTF-8 bytes separate words like punctuation does (callers validate files first).
std::vector<std::string> near_duplicate_words(const std::string& text);

// The normalised words joined by single spaces: two texts are exact duplicates when these agree.
std::string near_duplicate_normal_form(const std::string& text);

// The distinct shingles of a text as 64-bit hashes (sorted, unique). Empty for a text without words.
std::vector<uint64_t> shingle_hashes(const std::string& text, const NearDuplicateOptions& opt);

// |A ∩ B| / |A ∪ B| of the two texts' shingle sets; 1 for two texts without words, 0 when only one
// has none.
double shingle_jaccard(const std::string& a, const std::string& b, const NearDuplicateOptions& opt);

// A MinHash signature (opt.num_hashes values) of a shingle set.
std::vector<uint64_t> minhash_signature(const std::vector<uint64_t>& shingles, const NearDuplicateOptions& opt);

struct NearDuplicatePair {
  int64_t a = 0, b = 0;  // indexes into the first and second set
  double jaccard = 0;    // exact shingle Jaccard (verified), >= the threshold
};

// Every (a, b) with a from `first` and b from `second` whose exact shingle Jaccard is >= threshold,
// found through MinHash + LSH candidates and verified exactly (pairs LSH misses are possible, with
// the probability the banding gives: documented in the implementation). Sorted by (a, b).
// Texts without words are never paired. Runs on OpenMP threads.
void near_duplicate_pairs(const std::vector<std::string>& first, const std::vector<std::string>& second,
                          double threshold, const NearDuplicateOptions& opt, std::vector<NearDuplicatePair>* out);

}  // namespace embtune
