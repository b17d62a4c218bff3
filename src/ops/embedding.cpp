// Embedding gather-and-sum threaded over tokens, and its scatter-add backward threaded over
// hidden columns. Not a scalar-twin pair for the forward (plain additions with one order, its own
// reference); the backward has one, since its threading reorders the loops.
#include "ops/embedding.h"

#include <omp.h>

#include <algorithm>

namespace embtune {

void embedding_forward(float* out, const int32_t* ids, const int32_t* pos_ids,
                       const int32_t* type_ids, const float* word, const float* pos,
                       const float* type, int64_t N, int64_t H) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < N; i++) {
    const float* w = word + static_cast<int64_t>(ids[i]) * H;
    const float* p = pos + static_cast<int64_t>(pos_ids[i]) * H;
    const float* t = type + static_cast<int64_t>(type_ids ? type_ids[i] : 0) * H;
    float* o = out + i * H;
#pragma omp simd
    for (int64_t c = 0; c < H; c++) o[c] = w[c] + p[c] + t[c];
  }
}

void embedding_backward(float* d_word, float* d_pos, float* d_type, const float* d_out, const int32_t* ids,
                        const int32_t* pos_ids, const int32_t* type_ids, int64_t N, int64_t H) {
  // Each thread owns one contiguous range of columns in every table, so repeated ids never race
  // and each token costs a thread one run of writes per table, not one per cache line. Ranges are
  // whole multiples of 16 floats (a cache line's worth) to keep false sharing rare.
  constexpr int64_t line = 16;
  const int64_t lines = (H + line - 1) / line;
  const int64_t ranges = std::min<int64_t>(omp_get_max_threads(), lines);
  const int64_t width = (lines + ranges - 1) / ranges * line;
#pragma omp parallel for schedule(static)
  for (int64_t range = 0; range < ranges; range++) {
    const int64_t c0 = range * width, c1 = std::min(H, c0 + width);
    for (int64_t i = 0; i < N; i++) {
      const float* g = d_out + i * H;
      float* w = d_word ? d_word + static_cast<int64_t>(ids[i]) * H : nullptr;
      float* p = d_pos ? d_pos + static_cast<int64_t>(pos_ids[i]) * H : nullptr;
      float* t = d_type ? d_type + static_cast<int64_t>(type_ids ? type_ids[i] : 0) * H : nullptr;
      if (w) {
#pragma omp simd
        for (int64_t c = c0; c < c1; c++) w[c] += g[c];
      }
      if (p) {
#pragma omp simd
        for (int64_t c = c0; c < c1; c++) p[c] += g[c];
      }
      if (t) {
#pragma omp simd
        for (int64_t c = c0; c < c1; c++) t[c] += g[c];
      }
    }
  }
}

void embedding_backward_scalar(float* d_word, float* d_pos, float* d_type, const float* d_out, const int32_t* ids,
                               const int32_t* pos_ids, const int32_t* type_ids, int64_t N, int64_t H) {
  for (int64_t i = 0; i < N; i++) {
    for (int64_t c = 0; c < H; c++) {
      const float g = d_out[i * H + c];
      if (d_word) d_word[static_cast<int64_t>(ids[i]) * H + c] += g;
      if (d_pos) d_pos[static_cast<int64_t>(pos_ids[i]) * H + c] += g;
      if (d_type) d_type[static_cast<int64_t>(type_ids ? type_ids[i] : 0) * H + c] += g;
    }
  }
}

}  // namespace embtune
