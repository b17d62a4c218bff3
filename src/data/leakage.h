// Leakage between training and evaluation texts: exact duplicates (the same normalised words), near
// duplicates (word-shingle Jaccard, MinHash + LSH candidates verified exactly) and, with a model,
// semantic duplicates (embedding cosine). Not the command line and not a splitter (prepare.h).
//
// Usage:
//   LeakageTexts train, eval;
//   ET_RETURN_IF_ERROR(leakage_read_file("train.jsonl", {}, &train));   // every string field
//   ET_RETURN_IF_ERROR(leakage_read_file("test.jsonl", {}, &eval));
//   LeakageResult r;
//   ET_RETURN_IF_ERROR(leakage_find(train, eval, LeakageOptions{}, &r));
//   if (r.any()) std::fprintf(stderr, "%s", leakage_describe(train, eval, r, 3).c_str());
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "model/sentence_encoder.h"

namespace embtune {

// The texts of one side and where each came from: its 1-based line (row for CSV/TSV), or an id
// for texts not read line by line (a BEIR query or document). Texts of one row share the line.
struct LeakageTexts {
  std::string path;  // shown in reports
  std::vector<std::string> texts;
  std::vector<int64_t> lines;
  std::vector<std::string> ids;  // empty, or one per text: shown instead of the line

  void add(std::string text, int64_t line) {
    texts.push_back(std::move(text));
    lines.push_back(line);
  }
  // "path:line", or "path id" when the texts have ids.
  std::string location(size_t i) const;
};

// Reads the texts of `path` by its extension: .jsonl/.json (every string of every row, nested
// ones included, or of the named fields), .csv/.tsv (every column but score/label, or the named
// ones), anything else one text per non-blank line. Errors name the file and line: invalid UTF-8,
// invalid JSON, a row that is not an object, a CSV row with the wrong number of columns.
Status leakage_read_file(const std::string& path, const std::vector<std::string>& fields, LeakageTexts* out);

struct LeakageOptions {
  double threshold = 0.8;  // near duplicate: shingle Jaccard at least this, in (0, 1]
  int shingle_words = 3;
  int min_words = 1;  // texts with fewer normalised words are ignored (ids, labels, "yes")
  // Semantic duplicates: with an encoder and a threshold in (0, 1], each distinct evaluation text
  // whose nearest training text (cosine of the model's embeddings) scores at least this and is
  // neither an exact nor a near duplicate of it is reported too. 0 or no encoder: off.
  double cosine_threshold = 0;
  const SentenceEncoder* encoder = nullptr;
  EmbedOptions embed;
  std::string cache_dir;  // embedding cache root ("" none)
  bool progress = false;  // progress bars while embedding
};

enum class LeakKind { Exact, Near, Semantic };
const char* leak_kind_name(LeakKind k);  // "exact", "near", "semantic"

struct Leak {
  int64_t train = 0, eval = 0;  // indexes of the texts (first occurrences of their normal forms)
  double similarity = 1.0;      // Jaccard (exact, near) or cosine (semantic)
  LeakKind kind = LeakKind::Exact;
  int64_t eval_occurrences = 1;  // evaluation texts with this normal form
};

struct LeakageResult {
  std::vector<Leak> leaks;  // exact ones, then near ones by Jaccard, then semantic by cosine, best first
  int64_t exact = 0, near = 0, semantic = 0;
  int64_t train_distinct = 0, eval_distinct = 0;
  int64_t eval_texts_leaked = 0;  // distinct evaluation texts with at least one leak
  int64_t eval_rows = 0, eval_rows_leaked = 0;
  std::vector<uint8_t> eval_leaked;  // per evaluation text (eval.texts order): 1 when it leaks
  bool any() const { return !leaks.empty(); }
};

// Every leak between the two sides (see LeakageOptions). Errors: a threshold outside (0, 1], or
// embedding failures of the semantic check. Runs on OpenMP threads.
Status leakage_find(const LeakageTexts& train, const LeakageTexts& eval, const LeakageOptions& opt, LeakageResult* out);

// A few lines for error messages and logs: the counts, then up to `examples` leaks as
// "exact 1.000  train.jsonl:3  test.jsonl:2" with both texts shortened.
std::string leakage_describe(const LeakageTexts& train, const LeakageTexts& eval, const LeakageResult& r,
                             size_t examples);

// At most `max` bytes of `s`, cut at a UTF-8 boundary, with "…" when cut.
std::string leakage_shorten(const std::string& s, size_t max);

}  // namespace embtune
