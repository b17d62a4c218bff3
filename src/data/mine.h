// Hard-negative mining as sentence-transformers' mine_hard_negatives does it: exact dense search of
// each anchor over a corpus, then rank, score and margin filters, then top or seeded random picks.
// Not approximate search, not training, and not the command line (cli/cmd_mine.cpp).
//
//   std::vector<MinePair> pairs;
//   std::vector<std::string> corpus;
//   ET_RETURN_IF_ERROR(mine_read_pairs("pairs.jsonl", &pairs));
//   ET_RETURN_IF_ERROR(mine_read_corpus("corpus.jsonl", &corpus));   // or mine_corpus_of_positives
//   MineResult result;
//   ET_RETURN_IF_ERROR(mine_hard_negatives(encoder, pairs, corpus, MineOptions{}, &result));
//   ET_RETURN_IF_ERROR(mine_write("out.jsonl", pairs, corpus, result, MineWriteOptions{}));
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "data/near_duplicate.h"
#include "eval/dense_search.h"
#include "model/sentence_encoder.h"

namespace embtune {

// One input row: texts stripped of surrounding whitespace, and the file line it came from.
struct MinePair {
  std::string anchor, positive;
  size_t line = 0;
};

struct MineOptions {
  int64_t num_negatives = 3;  // negatives per row at most
  // Ranks [range_min, range_max) of the candidates left once the row's positives (and their
  // near-duplicates) are out, best first: range_min skips the closest texts.
  int64_t range_min = 0;
  int64_t range_max = 100;
  std::optional<double> max_score, min_score;  // candidates scoring above / below are dropped
  // Kept only when score <= positive score - absolute_margin, and
  // score <= positive score * (1 - relative_margin).
  std::optional<double> absolute_margin, relative_margin;
  bool random_sampling = false;  // false: the best survivors; true: a seeded sample of them
  uint64_t seed = 12;
  // Candidates whose shingle Jaccard with any positive of the anchor is >= this are dropped; 0: off.
  double near_duplicate_threshold = 0.9;
  NearDuplicateOptions near_duplicate;
  EmbedOptions query;   // prompt of the anchors
  EmbedOptions corpus;  // prompt of the corpus and of the positives
  Similarity similarity = Similarity::Cosine;
  std::string cache_dir;                // embedding cache root (embed_cache.h); "" for none
  int64_t corpus_block_texts = 16384;   // corpus texts embedded and searched at a time
  bool progress = false;                // progress bars on stderr
};

// Candidates removed by each filter, in the order the filters apply (a candidate counts once,
// at the first filter that drops it). retrieved = the sum of the removals + not_picked + picked.
struct MineReport {
  int64_t rows = 0, anchors = 0, corpus_texts = 0;
  int64_t retrieved = 0;         // candidates the search returned, over all rows
  int64_t positive = 0;          // same text (hash after stripping) as a positive of the anchor
  int64_t near_duplicate = 0;    // shingle Jaccard with a positive >= the threshold
  int64_t range = 0;             // rank outside [range_min, range_max)
  int64_t max_score = 0, min_score = 0, absolute_margin = 0, relative_margin = 0;
  int64_t not_picked = 0;        // passed every filter, beyond num_negatives
  int64_t picked = 0;            // negatives written
  int64_t rows_short = 0;        // rows that got fewer than num_negatives
  double embed_seconds = 0, search_seconds = 0, filter_seconds = 0;
};

struct MinedRow {
  float positive_score = 0;
  std::vector<int64_t> negatives;  // corpus indexes, best score first
  std::vector<float> negative_scores;
};

struct MineResult {
  std::vector<MinedRow> rows;  // one per input pair, in input order
  MineReport report;
};

// JSONL with string fields "anchor" and "positive" per non-blank line (other fields ignored).
// Errors name the file and line: invalid UTF-8 or JSON, not an object, a missing or non-string
// field, an empty (after stripping) text; and a file without rows.
Status mine_read_pairs(const std::string& path, std::vector<MinePair>* out);

// The corpus, stripped, distinct, in order of first appearance. A .jsonl / .json file holds one
// object per non-blank line with a "text" string and an optional "title" (a BEIR corpus.jsonl:
// the text is title + " " + text, stripped); any other file is one text per non-blank line.
// Errors name the file and line: invalid UTF-8 or JSON, a missing "text"; and an empty corpus.
Status mine_read_corpus(const std::string& path, std::vector<std::string>* out);

// The distinct positives, in order of first appearance: the corpus when none is given.
std::vector<std::string> mine_corpus_of_positives(const std::vector<MinePair>& pairs);

// Embeds the distinct anchors, the positives and the corpus (block by block, through the cache),
// searches the top range_max + (most positives of an anchor) corpus texts of each anchor, and
// filters and picks each row's negatives. `corpus` must be distinct texts (as read above).
Status mine_hard_negatives(const SentenceEncoder& encoder, const std::vector<MinePair>& pairs,
                           const std::vector<std::string>& corpus, const MineOptions& opt, MineResult* out);

struct MineWriteOptions {
  // false: one row per input pair with negative_1 … negative_N (fewer when fewer were kept);
  // true: one row per negative, with anchor, positive and negative.
  bool triplets = false;
  // Adds score_positive and score_negative_1 … (score_negative in triplets).
  bool with_scores = false;
};

// Writes the mined rows as JSONL, atomically (a failure leaves no file at `path`).
Status mine_write(const std::string& path, const std::vector<MinePair>& pairs, const std::vector<std::string>& corpus,
                  const MineResult& result, const MineWriteOptions& opt);

}  // namespace embtune
