// Exact dense retrieval: the top k corpus rows of every query by cosine similarity or dot
// product, with blocked matrix products over the corpus so that the score matrix never exceeds
// one block. Not an approximate index and not embedding (the caller embeds).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace embtune {

enum class Similarity { Cosine, Dot };

struct DenseSearchOptions {
  int64_t k = 100;
  Similarity similarity = Similarity::Cosine;
  int64_t block_rows = 16384;  // corpus rows scored per matrix product
};

using DenseHits = std::vector<std::vector<std::pair<int64_t, float>>>;

// The same search fed one corpus block at a time, for corpora that are embedded (or read from a
// cache) block by block and never held whole. Rows are numbered across add() calls from 0.
//   DenseTopK top(queries, Q, D, opt);
//   while (more) top.add(block, rows);
//   DenseHits hits = top.finish();
class DenseTopK {
 public:
  DenseTopK(const float* queries, int64_t Q, int64_t D, const DenseSearchOptions& opt);
  // The next `rows` corpus rows (rows, D); any count, split internally into opt.block_rows.
  void add(const float* corpus_rows, int64_t rows);
  int64_t rows_seen() const { return rows_seen_; }
  // Each query's hits, best first. The object is spent afterwards.
  DenseHits finish();

 private:
  std::vector<float> queries_;  // unit rows under cosine
  int64_t Q_, D_;
  DenseSearchOptions opt_;
  int64_t rows_seen_ = 0;
  DenseHits top_;  // per query a heap whose front is the worst kept hit
  std::vector<float> scores_, block_unit_;
};

// queries (Q, D), corpus (M, D), row-major fp32. For each query, up to k (corpus row, score),
// best first; equal scores go to the lower row. Cosine normalises copies of the rows
// (x / max(‖x‖, 1e-12)); the inputs are not changed. Threaded (oneDNN products, queries).
DenseHits dense_search(const float* queries, int64_t Q, const float* corpus, int64_t M, int64_t D,
                       const DenseSearchOptions& opt);

}  // namespace embtune
