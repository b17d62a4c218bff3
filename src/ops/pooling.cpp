// Pooling and L2 normalisation (threaded over sentences) and the pooling scalar twin.
// Not weighted-mean pooling: no model we load uses it, and it is refused at load time.
#include "ops/pooling.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace embtune {

void pooling_forward(float* out, int64_t out_stride, const float* x, const int32_t* cu,
                     const int32_t* skip, int64_t S, int64_t H, PoolingMode mode) {
#pragma omp parallel for schedule(static)
  for (int64_t s = 0; s < S; s++) {
    float* o = out + s * out_stride;
    const int64_t first = cu[s], end = cu[s + 1];
    if (mode == PoolingMode::Cls || mode == PoolingMode::LastToken) {
      const float* r = x + (mode == PoolingMode::Cls ? first : end - 1) * H;
      std::copy(r, r + H, o);
      continue;
    }
    const int64_t start = std::min<int64_t>(first + (skip ? skip[s] : 0), end);
    const int64_t n = end - start;
    if (mode == PoolingMode::Max) {
      // sentence-transformers sets masked positions to -1e9 before the max.
      for (int64_t c = 0; c < H; c++) o[c] = -1e9f;
      for (int64_t t = start; t < end; t++) {
        const float* r = x + t * H;
#pragma omp simd
        for (int64_t c = 0; c < H; c++) o[c] = std::max(o[c], r[c]);
      }
      continue;
    }
    for (int64_t c = 0; c < H; c++) o[c] = 0.0f;
    for (int64_t t = start; t < end; t++) {
      const float* r = x + t * H;
#pragma omp simd
      for (int64_t c = 0; c < H; c++) o[c] += r[c];
    }
    // sentence-transformers clamps the token count at 1e-9 (an all-prompt text pools to zeros).
    const float cnt = std::max(static_cast<float>(n), 1e-9f);
    const float div = mode == PoolingMode::Mean ? cnt : std::sqrt(cnt);
    for (int64_t c = 0; c < H; c++) o[c] /= div;
  }
}

void pooling_forward_scalar(float* out, int64_t out_stride, const float* x, const int32_t* cu,
                            const int32_t* skip, int64_t S, int64_t H, PoolingMode mode) {
  for (int64_t s = 0; s < S; s++) {
    const int64_t first = cu[s], end = cu[s + 1];
    const int64_t start = std::min<int64_t>(first + (skip ? skip[s] : 0), end);
    for (int64_t c = 0; c < H; c++) {
      double v;
      if (mode == PoolingMode::Cls) {
        v = x[first * H + c];
      } else if (mode == PoolingMode::LastToken) {
        v = x[(end - 1) * H + c];
      } else if (mode == PoolingMode::Max) {
        v = -1e9;
        for (int64_t t = start; t < end; t++) v = std::max<double>(v, x[t * H + c]);
      } else {
        double acc = 0;
        for (int64_t t = start; t < end; t++) acc += x[t * H + c];
        double cnt = std::max<double>(end - start, 1e-9);
        v = acc / (mode == PoolingMode::Mean ? cnt : std::sqrt(cnt));
      }
      out[s * out_stride + c] = static_cast<float>(v);
    }
  }
}

void l2_normalize_forward(float* x, int64_t S, int64_t D) {
#pragma omp parallel for schedule(static)
  for (int64_t s = 0; s < S; s++) {
    float* r = x + s * D;
    float ss = 0.0f;
#pragma omp simd reduction(+ : ss)
    for (int64_t c = 0; c < D; c++) ss += r[c] * r[c];
    const float inv = 1.0f / std::max(std::sqrt(ss), 1e-12f);
#pragma omp simd
    for (int64_t c = 0; c < D; c++) r[c] *= inv;
  }
}

}  // namespace embtune
