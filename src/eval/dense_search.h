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
  // Corpus rows scored per matrix product (and per tile of up to 1024 queries). 4096–8192 were
  // the fastest at Q = 1000, D = 384 (bench/run_eval_bench.sh): smaller blocks pay more thread
  // barriers, larger ones push the score tile further out of cache.
  int64_t block_rows = 8192;
};

using DenseHit = std::pair<int64_t, float>;  // (corpus row, score)
using DenseHits = std::vector<std::vector<DenseHit>>;

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
  std::vector<float> queries_;  // (Q, D), unit rows under cosine
  int64_t Q_, D_;
  DenseSearchOptions opt_;
  int64_t rows_seen_ = 0;
  DenseHits top_;  // per query a heap whose front is the worst kept hit
  std::vector<float> scores_;      // (min(Q, 1024), block_rows) scores of one tile of queries
  std::vector<float> block_unit_;  // (block_rows, D) one block's unit rows under cosine
};

// queries (Q, D), corpus (M, D), row-major fp32. For each query, up to k (corpus row, score),
// best first; equal scores go to the lower row. Cosine normalises copies of the rows
// (x / max(‖x‖, 1e-12)); the inputs are not changed. Threaded (oneDNN products, queries).
DenseHits dense_search(const float* queries, int64_t Q, const float* corpus, int64_t M, int64_t D,
                       const DenseSearchOptions& opt);

// The selection step of the search, for one query. `best` is a heap (front: the worst kept hit,
// under "higher score, then lower row" as the better) of at most k hits; scores (n) are those of
// rows first_row, first_row + 1, …, all above every row already in `best`. Keeps the k best of
// both. The fast form tests blocks of scores against the k-th best before touching the heap;
// the scalar twin offers every score to the heap. Both leave the same hits, in the same heap.
void dense_topk_offer(std::vector<DenseHit>& best, int64_t k, const float* scores, int64_t n, int64_t first_row);
void dense_topk_offer_scalar(std::vector<DenseHit>& best, int64_t k, const float* scores, int64_t n,
                             int64_t first_row);

}  // namespace embtune
