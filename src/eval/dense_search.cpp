// Blocked exact top-k search: one oneDNN product per corpus block, then a per-query selection
// that compares blocks of scores with the k-th best so far. Not streaming from disk yet: the
// corpus is a memory buffer (it may be memory-mapped).
#include "eval/dense_search.h"

#include <algorithm>
#include <cmath>
#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "ops/matmul.h"

namespace embtune {

namespace {

// Queries scored per product, so that the score tile stays bounded however many queries there are.
constexpr int64_t kQueryTile = 1024;
// Below this many floats (touched by a loop), a parallel region costs more than it saves.
constexpr int64_t kParallelMin = 1 << 15;

// y (n, D) = the rows of x (n, D) divided by max(‖row‖, 1e-12), the norm summed in double in
// the order of d. kRows rows at a time: their sums are independent chains, which the core
// overlaps (one row's chain alone waits on every add); the sums themselves are unchanged.
void unit_rows(float* y, const float* x, int64_t n, int64_t D) {
  constexpr int64_t kRows = 8;
  auto scale_row = [&](int64_t i, double s) {
    const float inv = static_cast<float>(1.0 / std::max(std::sqrt(s), 1e-12));
    for (int64_t d = 0; d < D; d++) y[i * D + d] = x[i * D + d] * inv;
  };
#pragma omp parallel for schedule(static) if (n * D >= kParallelMin)
  for (int64_t i0 = 0; i0 < n; i0 += kRows) {
    if (i0 + kRows <= n) {
      double s[kRows] = {};
      for (int64_t d = 0; d < D; d++)
        for (int64_t r = 0; r < kRows; r++) s[r] += static_cast<double>(x[(i0 + r) * D + d]) * x[(i0 + r) * D + d];
      for (int64_t r = 0; r < kRows; r++) scale_row(i0 + r, s[r]);
    } else {
      for (int64_t i = i0; i < n; i++) {
        double s = 0;
        for (int64_t d = 0; d < D; d++) s += static_cast<double>(x[i * D + d]) * x[i * D + d];
        scale_row(i, s);
      }
    }
  }
}

// Orders hits best first: higher score, then lower row. A lambda, not a function, so that the
// heap algorithms inline it.
constexpr auto better = [](const DenseHit& a, const DenseHit& b) {
  return a.second != b.second ? a.second > b.second : a.first < b.first;
};

// True when some of the 16 scores g[0..16) is above `worst`. Four SSE compares and one mask on
// x86-64 (SSE2 is its baseline); elsewhere the plain loop.
bool any_above16(const float* g, float worst) {
#if defined(__SSE2__)
  const __m128 w = _mm_set1_ps(worst);
  const __m128 a = _mm_or_ps(_mm_cmpgt_ps(_mm_loadu_ps(g), w), _mm_cmpgt_ps(_mm_loadu_ps(g + 4), w));
  const __m128 b = _mm_or_ps(_mm_cmpgt_ps(_mm_loadu_ps(g + 8), w), _mm_cmpgt_ps(_mm_loadu_ps(g + 12), w));
  return _mm_movemask_ps(_mm_or_ps(a, b)) != 0;
#else
  bool any = false;
  for (int i = 0; i < 16; i++) any |= g[i] > worst;
  return any;
#endif
}

// Adds hit to the heap, then drops the worst if there are more than k.
void heap_offer(std::vector<DenseHit>& best, int64_t k, const DenseHit& hit) {
  best.push_back(hit);
  std::push_heap(best.begin(), best.end(), better);
  if (static_cast<int64_t>(best.size()) > k) {
    std::pop_heap(best.begin(), best.end(), better);
    best.pop_back();
  }
}

}  // namespace

void dense_topk_offer_scalar(std::vector<DenseHit>& best, int64_t k, const float* s, int64_t n, int64_t first) {
  for (int64_t j = 0; j < n; j++) {
    const DenseHit hit{first + j, s[j]};
    if (static_cast<int64_t>(best.size()) == k && !better(hit, best.front())) continue;
    heap_offer(best, k, hit);
  }
}

// Once the heap is full, a score can enter only if it is above the worst kept one: an equal
// score comes from a later (higher) row and loses the tie. So the test is one float compare,
// made 16 scores at a time without branches; past the first few thousand rows almost no group
// holds a candidate. NaN scores fail the compare, as they fail better() in the twin, so both
// make the same heap operations in the same order.
void dense_topk_offer(std::vector<DenseHit>& best, int64_t k, const float* s, int64_t n, int64_t first) {
  constexpr int64_t kGroup = 16;
  int64_t j = 0;
  for (; j < n && static_cast<int64_t>(best.size()) < k; j++) heap_offer(best, k, {first + j, s[j]});
  if (j == n) return;
  float worst = best.front().second;
  for (; j + kGroup <= n; j += kGroup) {
    const float* g = s + j;
    if (!any_above16(g, worst)) continue;
    for (int64_t i = 0; i < kGroup; i++)
      if (g[i] > worst) {
        heap_offer(best, k, {first + j + i, g[i]});
        worst = best.front().second;
      }
  }
  for (; j < n; j++)
    if (s[j] > worst) {
      heap_offer(best, k, {first + j, s[j]});
      worst = best.front().second;
    }
}

DenseTopK::DenseTopK(const float* queries, int64_t Q, int64_t D, const DenseSearchOptions& opt)
    : queries_(queries, queries + Q * D), Q_(Q), D_(D), opt_(opt), top_(Q) {
  if (opt.similarity == Similarity::Cosine) unit_rows(queries_.data(), queries, Q, D);
}

void DenseTopK::add(const float* corpus, int64_t M) {
  if (Q_ == 0 || opt_.k <= 0) {
    rows_seen_ += M;
    return;
  }
  const int64_t block = std::max<int64_t>(1, opt_.block_rows), k = opt_.k;
  for (int64_t b0 = 0; b0 < M; b0 += block) {
    const int64_t rows = std::min(block, M - b0);
    const float* c = corpus + b0 * D_;  // (rows, D)
    if (opt_.similarity == Similarity::Cosine) {
      // Kept between blocks and calls: a vector's capacity survives resizing, so no block
      // allocates (or page-faults) a fresh copy.
      block_unit_.resize(rows * D_);
      unit_rows(block_unit_.data(), c, rows, D_);
      c = block_unit_.data();
    }
    // Queries in tiles: the product writes a tile's scores, the selection reads them right after.
    const int64_t first = rows_seen_ + b0;
    for (int64_t q0 = 0; q0 < Q_; q0 += kQueryTile) {
      const int64_t tile = std::min(kQueryTile, Q_ - q0);
      scores_.resize(tile * rows);
      // scores (tile, rows) = queries (tile, D) · corpus block (rows, D)ᵀ: a linear layer's product.
      matmul_forward(scores_.data(), queries_.data() + q0 * D_, c, nullptr, tile, D_, rows);
#pragma omp parallel for schedule(dynamic, 16) if (tile * rows >= kParallelMin)
      for (int64_t q = 0; q < tile; q++) dense_topk_offer(top_[q0 + q], k, scores_.data() + q * rows, rows, first);
    }
  }
  rows_seen_ += M;
}

DenseHits DenseTopK::finish() {
#pragma omp parallel for schedule(static) if (Q_ * opt_.k >= kParallelMin)
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
