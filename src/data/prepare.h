// `embtune prepare` as a library: read pair files leniently, report every problem (schema, invalid
// UTF-8, empty texts, duplicates, over-long texts, queries with many positives), normalise
// whitespace and split the rows into train / validation / test grouped so that no query, passage,
// near duplicate of one or source document is on two sides; then check the splits for leakage.
// Not the training reader (training_data.h, which stops at the first bad row) nor the command line.
//
// Usage:
//   PrepareOptions opt;                      // 0.8 / 0.1 / 0.1, seed 0, Jaccard 0.8
//   PrepareResult r;
//   ET_RETURN_IF_ERROR(prepare_rows({"pairs.jsonl"}, opt, &r));
//   if (r.invalid_rows == 0 && !r.leakage.any())
//     ET_RETURN_IF_ERROR(prepare_write("out", r));   // out/{train,validation,test}.jsonl + prepare_report.json
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/status.h"
#include "data/leakage.h"
#include "model/sentence_encoder.h"

namespace embtune {

constexpr const char* kPrepareSplitNames[3] = {"train", "validation", "test"};

struct PrepareOptions {
  // Text columns in order; empty: every column of the first row except the score (score/label)
  // and source columns, anchor and positive first (training_data.h's convention).
  std::vector<std::string> columns;
  // Rows with the same value here come from one source document and stay on one side. Used when
  // the rows have it; never written out (the trainer would take it for a text).
  std::string source_column = "source";
  std::array<double, 3> split = {0.8, 0.1, 0.1};  // train, validation, test (normalised to sum 1)
  uint64_t seed = 0;
  double threshold = 0.8;  // near duplicates (word-shingle Jaccard) of queries or passages are grouped
  int shingle_words = 3;
  bool normalize_whitespace = true;  // runs of whitespace -> one space, ends stripped
  // Rows with structural problems (invalid JSON or UTF-8, missing column, non-string text, bad
  // score) are dropped and counted instead of making the run fail.
  bool drop_invalid = false;
  // Over-long texts: counted against this model's max_seq_length with its tokenizer (special
  // tokens included). nullptr: not checked.
  const SentenceEncoder* encoder = nullptr;
  int64_t max_length = 0;  // > 0: this limit instead of the model's
  // The leakage check of the splits (exact and near always; semantic with leakage.encoder).
  LeakageOptions leakage;
  size_t max_examples = 5;  // examples kept per problem
};

// One kept row: texts in column order, its score, where it came from.
struct PreparedRow {
  std::vector<std::string> texts;
  double score = 0;
  int32_t file = 0;  // index into inputs
  int64_t line = 0;
  int split = 0;  // 0 train, 1 validation, 2 test
};

struct PrepareResult {
  std::vector<std::string> inputs;
  std::vector<std::string> columns;
  std::string score_column;  // "" when none
  bool has_source = false;
  std::vector<PreparedRow> rows;  // kept rows, input order
  int64_t rows_read = 0;
  int64_t invalid_rows = 0;  // rows with structural problems (dropped only with drop_invalid)
  LeakageResult leakage;     // train vs validation + test
  LeakageTexts leakage_train, leakage_eval;  // what the leakage check compared, for its examples
  nlohmann::ordered_json report;  // prepare_report.json
};

// Reads, checks, groups and splits. The Status is for what stops everything: an unreadable file,
// options out of range, no usable rows, fewer than two text columns. Problems of rows are in the
// result (invalid_rows and the report); the caller refuses to write when there are invalid rows
// (without drop_invalid) or leakage.
Status prepare_rows(const std::vector<std::string>& inputs, const PrepareOptions& opt, PrepareResult* out);

// Writes dir/train.jsonl, dir/validation.jsonl, dir/test.jsonl (splits with a fraction above 0;
// text columns and score) and dir/prepare_report.json, all or nothing: into a temporary sibling
// directory renamed to dir at the end. dir must not exist or be empty.
Status prepare_write(const std::string& dir, const PrepareResult& r);

// The report as a terminal table (problems with counts and examples, splits, leakage).
std::string prepare_report_text(const PrepareResult& r);

}  // namespace embtune
