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

// queries (Q, D), corpus (M, D), row-major fp32. For each query, up to k (corpus row, score),
// best first; equal scores go to the lower row. Cosine normalises copies of the rows
// (x / max(‖x‖, 1e-12)); the inputs are not changed. Threaded (oneDNN products, queries).
std::vector<std::vector<std::pair<int64_t, float>>> dense_search(const float* queries, int64_t Q, const float* corpus,
                                                                 int64_t M, int64_t D, const DenseSearchOptions& opt);

}  // namespace embtune
