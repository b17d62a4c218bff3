// Reading training rows (anchor, positive, negatives…, optional score) from JSONL, CSV or TSV,
// with the column conventions of sentence-transformers and errors naming file and line.
// Not a sampler or a tokenizer: rows come back as validated UTF-8 texts in file order.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace embtune {

// One training example: texts in column order (anchor, positive, negative_1, …) and, for
// scored losses (CoSENT, AnglE, MarginMSE), its score.
struct TrainingRow {
  std::vector<std::string> texts;
  double score = 0.0;
};

struct TrainingData {
  std::vector<std::string> text_columns;  // names, in the order the texts are stored
  std::string score_column;               // "" when the data has no score
  std::vector<TrainingRow> rows;
};

struct TrainingDataOptions {
  // "auto" (by extension: .jsonl/.json, .csv, .tsv), "jsonl", "csv" or "tsv".
  std::string format = "auto";
  // Text columns to use, in order; empty: every column of the file except the score column, in
  // file order, as sentence-transformers feeds a dataset's columns to a loss — except that
  // columns named "anchor" and "positive" come first, in that order, wherever they stand.
  std::vector<std::string> columns;
  // The score column; empty: "score" or "label" when the file has one (sentence-transformers'
  // names for it).
  std::string score_column;
  // Scores outside [score_min, score_max] are errors.
  double score_min = -1e300, score_max = 1e300;
};

// Reads the whole file. Errors (before any training starts): unreadable or empty file, invalid
// UTF-8, a JSONL line that is not an object, a row missing a column or with extra ones (mixed
// column counts), an empty or whitespace-only text, a non-string text, a score that is not a
// number or is outside its range, an unterminated CSV quote.
Status training_data_read(const std::string& path, const TrainingDataOptions& opt, TrainingData* out);

// Splits one CSV/TSV record starting at `pos` of `data` (RFC 4180 quoting: "" inside quotes,
// separators and newlines inside quotes kept); advances `pos` past the record's line end and
// counts the newlines consumed in `lines`. Returns an error for an unterminated quote.
Status csv_next_record(const std::string& data, char sep, size_t* pos, size_t* lines, std::vector<std::string>* fields);

}  // namespace embtune
