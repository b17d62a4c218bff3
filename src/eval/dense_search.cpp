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

DenseTopK::DenseTopK(const float* queries, int64_t Q, int64_t D, const DenseSearchOptions& opt)
    : queries_(opt.similarity == Similarity::Cosine ? unit_rows(queries, Q, D)
                                                    : std::vector<float>(queries, queries + Q * D)),
      Q_(Q), D_(D), opt_(opt), top_(Q) {}

void DenseTopK::add(const float* corpus, int64_t M) {
  if (Q_ == 0 || opt_.k <= 0) {
    rows_seen_ += M;
    return;
  }
  const int64_t block = std::max<int64_t>(1, opt_.block_rows), k = opt_.k;
  for (int64_t b0 = 0; b0 < M; b0 += block) {
    const int64_t rows = std::min(block, M - b0);
    const float* c = corpus + b0 * D_;
    if (opt_.similarity == Similarity::Cosine) {
      block_unit_ = unit_rows(c, rows, D_);
      c = block_unit_.data();
    }
    scores_.resize(Q_ * rows);
    // scores (Q, rows) = queries (Q, D) · corpus block (rows, D)ᵀ: a linear layer's product.
    matmul_forward(scores_.data(), queries_.data(), c, nullptr, Q_, D_, rows);
    const int64_t first = rows_seen_ + b0;
#pragma omp parallel for schedule(dynamic, 8)
    for (int64_t q = 0; q < Q_; q++) {
      std::vector<std::pair<int64_t, float>>& best = top_[q];
      const float* s = scores_.data() + q * rows;
      for (int64_t j = 0; j < rows; j++) {
        const std::pair<int64_t, float> hit{first + j, s[j]};
        if (static_cast<int64_t>(best.size()) == k && !better(hit, best.front())) continue;
        best.push_back(hit);
        std::push_heap(best.begin(), best.end(), better);
        if (static_cast<int64_t>(best.size()) > k) {
          std::pop_heap(best.begin(), best.end(), better);
          best.pop_back();
        }
      }
    }
  }
  rows_seen_ += M;
}

DenseHits DenseTopK::finish() {
#pragma omp parallel for schedule(static)
  for (int64_t q = 0; q < Q_; q++) std::sort_heap(top_[q].begin(), top_[q].end(), better);
  return std::move(top_);
}

DenseHits dense_search(const float* queries, int64_t Q, const float* corpus, int64_t M, int64_t D,
                       const DenseSearchOptions& opt) {
  DenseTopK top(queries, Q, D, opt);
  top.add(corpus, M);
  return top.finish();
}

}  // namespace embtune
