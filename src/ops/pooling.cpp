// Pooling and L2 normalisation, forward and backward (threaded over sentences), and their scalar
// twins. Not weighted-mean pooling: no model we load uses it, and it is refused at load time.
#include "ops/pooling.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/status.h"

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

namespace {

// y = x / max(‖x‖₂, 1e-12) for one row of D; returns the divisor. y may equal x.
float l2_normalize_row(float* y, const float* x, int64_t D) {
  float ss = 0.0f;
#pragma omp simd reduction(+ : ss)
  for (int64_t c = 0; c < D; c++) ss += x[c] * x[c];
  const float norm = std::max(std::sqrt(ss), 1e-12f);
  const float inv = 1.0f / norm;
#pragma omp simd
  for (int64_t c = 0; c < D; c++) y[c] = x[c] * inv;
  return norm;
}

}  // namespace

void l2_normalize_forward(float* x, int64_t S, int64_t D) {
#pragma omp parallel for schedule(static)
  for (int64_t s = 0; s < S; s++) l2_normalize_row(x + s * D, x + s * D, D);
}

void l2_normalize_forward(float* y, float* norm, const float* x, int64_t S, int64_t D) {
#pragma omp parallel for schedule(static)
  for (int64_t s = 0; s < S; s++) norm[s] = l2_normalize_row(y + s * D, x + s * D, D);
}

void l2_normalize_backward(float* d_x, const float* d_y, const float* y, const float* norm,
                           int64_t S, int64_t D) {
#pragma omp parallel for schedule(static)
  for (int64_t s = 0; s < S; s++) {
    const float* yr = y + s * D;
    const float* gr = d_y + s * D;
    float* dr = d_x + s * D;
    float dot = 0.0f;
    if (norm[s] > 1e-12f) {
#pragma omp simd reduction(+ : dot)
      for (int64_t c = 0; c < D; c++) dot += yr[c] * gr[c];
    }
    const float inv = 1.0f / norm[s];
#pragma omp simd
    for (int64_t c = 0; c < D; c++) dr[c] = (gr[c] - yr[c] * dot) * inv;
  }
}

void l2_normalize_backward_scalar(float* d_x, const float* d_y, const float* y, const float* norm,
                                  int64_t S, int64_t D) {
  for (int64_t s = 0; s < S; s++) {
    double dot = 0;
    if (norm[s] > 1e-12f)
      for (int64_t c = 0; c < D; c++) dot += static_cast<double>(y[s * D + c]) * d_y[s * D + c];
    for (int64_t c = 0; c < D; c++)
      d_x[s * D + c] = static_cast<float>((d_y[s * D + c] - y[s * D + c] * dot) / norm[s]);
  }
}

namespace {

// 1 / the divisor pooling_forward applies to a mean or mean·sqrt(len) over n rows.
double mean_weight(int64_t n, PoolingMode mode) {
  const double cnt = std::max(static_cast<float>(n), 1e-9f);
  return 1.0 / (mode == PoolingMode::Mean ? cnt : std::sqrt(cnt));
}

}  // namespace

void pooling_backward(float* d_x, const float* d_out, int64_t out_stride, const float* x, const int32_t* cu,
                      const int32_t* skip, int64_t S, int64_t H, PoolingMode mode) {
  if (mode == PoolingMode::Max) {
    ET_CHECK(x != nullptr);
#pragma omp parallel
    {
      // Per column: the running maximum and the row holding it (-1: still the fill).
      std::vector<float> best(H);
      std::vector<int64_t> arg(H);
#pragma omp for schedule(static)
      for (int64_t s = 0; s < S; s++) {
        const int64_t end = cu[s + 1];
        const int64_t start = std::min<int64_t>(cu[s] + (skip ? skip[s] : 0), end);
        std::fill(best.begin(), best.end(), -1e9f);
        std::fill(arg.begin(), arg.end(), int64_t{-1});
        for (int64_t t = start; t < end; t++) {
          const float* r = x + t * H;
          // Strictly greater, as pooling_forward's std::max keeps the earlier of equal values.
#pragma omp simd
          for (int64_t c = 0; c < H; c++) {
            const bool gt = r[c] > best[c];
            best[c] = gt ? r[c] : best[c];
            arg[c] = gt ? t : arg[c];
          }
        }
        const float* g = d_out + s * out_stride;
        for (int64_t c = 0; c < H; c++)
          if (arg[c] >= 0) d_x[arg[c] * H + c] += g[c];
      }
    }
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t s = 0; s < S; s++) {
    const float* g = d_out + s * out_stride;
    const int64_t first = cu[s], end = cu[s + 1];
    if (mode == PoolingMode::Cls || mode == PoolingMode::LastToken) {
      float* r = d_x + (mode == PoolingMode::Cls ? first : end - 1) * H;
#pragma omp simd
      for (int64_t c = 0; c < H; c++) r[c] += g[c];
      continue;
    }
    const int64_t start = std::min<int64_t>(first + (skip ? skip[s] : 0), end);
    const float w = static_cast<float>(mean_weight(end - start, mode));
    for (int64_t t = start; t < end; t++) {
      float* r = d_x + t * H;
#pragma omp simd
      for (int64_t c = 0; c < H; c++) r[c] += g[c] * w;
    }
  }
}

void pooling_backward_scalar(float* d_x, const float* d_out, int64_t out_stride, const float* x,
                             const int32_t* cu, const int32_t* skip, int64_t S, int64_t H, PoolingMode mode) {
  ET_CHECK(mode != PoolingMode::Max || x != nullptr);
  for (int64_t s = 0; s < S; s++) {
    const int64_t first = cu[s], end = cu[s + 1];
    const int64_t start = std::min<int64_t>(first + (skip ? skip[s] : 0), end);
    for (int64_t c = 0; c < H; c++) {
      const double g = d_out[s * out_stride + c];
      if (mode == PoolingMode::Cls) {
        d_x[first * H + c] = static_cast<float>(d_x[first * H + c] + g);
      } else if (mode == PoolingMode::LastToken) {
        d_x[(end - 1) * H + c] = static_cast<float>(d_x[(end - 1) * H + c] + g);
      } else if (mode == PoolingMode::Max) {
        int64_t arg = -1;
        float best = -1e9f;
        for (int64_t t = start; t < end; t++) {
          if (x[t * H + c] > best) {
            best = x[t * H + c];
            arg = t;
          }
        }
        if (arg >= 0) d_x[arg * H + c] = static_cast<float>(d_x[arg * H + c] + g);
      } else {
        const double w = mean_weight(end - start, mode);
        for (int64_t t = start; t < end; t++) d_x[t * H + c] = static_cast<float>(d_x[t * H + c] + g * w);
      }
    }
  }
}

void pooling_backward(float* d_x, const float* d_out, int64_t out_stride, const int32_t* cu,
                      const int32_t* skip, int64_t S, int64_t H, PoolingMode mode) {
  pooling_backward(d_x, d_out, out_stride, nullptr, cu, skip, S, H, mode);
}

void pooling_backward_scalar(float* d_x, const float* d_out, int64_t out_stride, const int32_t* cu,
                             const int32_t* skip, int64_t S, int64_t H, PoolingMode mode) {
  pooling_backward_scalar(d_x, d_out, out_stride, nullptr, cu, skip, S, H, mode);
}

}  // namespace embtune
