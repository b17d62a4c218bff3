// Blocked exact top-k search: one oneDNN product per corpus block, then a per-query merge.
// Not streaming from disk yet: the corpus is a memory buffer (it may be memory-mapped).
#include "eval/dense_search.h"

#include <algorithm>
#include <cmath>

#include "ops/matmul.h"

namespace embtune {

namespace {

std::vector<float> unit_rows(const float* x, int64_t n, int64_t D) {
  std::vector<float> y(x, x + n * D);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) {
    double s = 0;
    for (int64_t d = 0; d < D; d++) s += static_cast<double>(y[i * D + d]) * y[i * D + d];
    const float inv = static_cast<float>(1.0 / std::max(std::sqrt(s), 1e-12));
    for (int64_t d = 0; d < D; d++) y[i * D + d] *= inv;
  }
  return y;
}

// Orders hits best first: higher score, then lower row.
bool better(const std::pair<int64_t, float>& a, const std::pair<int64_t, float>& b) {
  return a.second != b.second ? a.second > b.second : a.first < b.first;
}

}  // namespace

std::vector<std::vector<std::pair<int64_t, float>>> dense_search(const float* queries, int64_t Q, const float* corpus,
                                                                 int64_t M, int64_t D, const DenseSearchOptions& opt) {
  std::vector<std::vector<std::pair<int64_t, float>>> top(Q);
  if (Q == 0 || M == 0 || opt.k <= 0) return top;
  const bool cosine = opt.similarity == Similarity::Cosine;
  std::vector<float> q_unit, c_unit;
  if (cosine) {
    q_unit = unit_rows(queries, Q, D);
    c_unit = unit_rows(corpus, M, D);
    queries = q_unit.data();
    corpus = c_unit.data();
  }
  const int64_t block = std::max<int64_t>(1, opt.block_rows), k = std::min(opt.k, M);
  std::vector<float> scores;
  for (int64_t b0 = 0; b0 < M; b0 += block) {
    const int64_t rows = std::min(block, M - b0);
    scores.resize(Q * rows);
    // scores (Q, rows) = queries (Q, D) · corpus block (rows, D)ᵀ: a linear layer's product.
    matmul_forward(scores.data(), queries, corpus + b0 * D, nullptr, Q, D, rows);
#pragma omp parallel for schedule(dynamic, 8)
    for (int64_t q = 0; q < Q; q++) {
      std::vector<std::pair<int64_t, float>>& best = top[q];
      const float* s = scores.data() + q * rows;
      for (int64_t j = 0; j < rows; j++) {
        const std::pair<int64_t, float> hit{b0 + j, s[j]};
        if (static_cast<int64_t>(best.size()) == k && !better(hit, best.front())) continue;
        // best is a heap whose front is the worst kept hit.
        best.push_back(hit);
        std::push_heap(best.begin(), best.end(), better);
        if (static_cast<int64_t>(best.size()) > k) {
          std::pop_heap(best.begin(), best.end(), better);
          best.pop_back();
        }
      }
    }
  }
#pragma omp parallel for schedule(static)
  for (int64_t q = 0; q < Q; q++) std::sort_heap(top[q].begin(), top[q].end(), better);
  return top;
}

}  // namespace embtune
