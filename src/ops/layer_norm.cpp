// Layer norm forward and backward (vectorised over C, threaded over rows or column blocks) and
// their scalar twins. Not fused with the matmul before it: the residual sum is fused here instead.
#include "ops/layer_norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/bf16.h"

namespace embtune {

void layer_norm_forward(float* out, float* mean, float* rstd, const float* a, const float* b,
                        const float* w, const float* bias, int64_t N, int64_t C, float eps, uint16_t* out16) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < N; i++) {
    const float* ar = a + i * C;
    float* o = out + i * C;
    // The sum goes to `o` first so that the two passes over it stay in cache.
    if (b) {
      const float* br = b + i * C;
#pragma omp simd
      for (int64_t c = 0; c < C; c++) o[c] = ar[c] + br[c];
    } else if (o != ar) {
#pragma omp simd
      for (int64_t c = 0; c < C; c++) o[c] = ar[c];
    }
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int64_t c = 0; c < C; c++) s += o[c];
    const float m = s / static_cast<float>(C);
    float v = 0.0f;
#pragma omp simd reduction(+ : v)
    for (int64_t c = 0; c < C; c++) {
      float d = o[c] - m;
      v += d * d;
    }
    const float r = 1.0f / std::sqrt(v / static_cast<float>(C) + eps);
#pragma omp simd
    for (int64_t c = 0; c < C; c++) o[c] = (o[c] - m) * r * w[c] + bias[c];
    if (out16) {
      uint16_t* o16 = out16 + i * C;
#pragma omp simd
      for (int64_t c = 0; c < C; c++) o16[c] = bf16_round(o[c]);
    }
    if (mean) mean[i] = m;
    if (rstd) rstd[i] = r;
  }
}

void layer_norm_forward_scalar(float* out, float* mean, float* rstd, const float* a,
                               const float* b, const float* w, const float* bias, int64_t N,
                               int64_t C, float eps) {
  std::vector<double> x(C);
  for (int64_t i = 0; i < N; i++) {
    double s = 0;
    for (int64_t c = 0; c < C; c++) {
      x[c] = static_cast<double>(a[i * C + c]) + (b ? b[i * C + c] : 0.0f);
      s += x[c];
    }
    double m = s / C, v = 0;
    for (int64_t c = 0; c < C; c++) v += (x[c] - m) * (x[c] - m);
    double r = 1.0 / std::sqrt(v / C + eps);
    for (int64_t c = 0; c < C; c++) out[i * C + c] = static_cast<float>((x[c] - m) * r * w[c] + bias[c]);
    if (mean) mean[i] = static_cast<float>(m);
    if (rstd) rstd[i] = static_cast<float>(r);
  }
}

void layer_norm_backward(float* d_in, float* d_w, float* d_bias, const float* d_out, const float* in,
                         const float* mean, const float* rstd, const float* w, int64_t N, int64_t C) {
  // Weight gradients first, threaded over column blocks so that each column is summed by one
  // thread in row order (no per-thread copies, no races); d_out is read before d_in may overwrite it.
  constexpr int64_t block = 64;
  const int64_t blocks = (C + block - 1) / block;
#pragma omp parallel for schedule(static)
  for (int64_t blk = 0; blk < blocks; blk++) {
    const int64_t c0 = blk * block, width = std::min(block, C - c0);
    float acc_w[block] = {}, acc_b[block] = {};
    for (int64_t i = 0; i < N; i++) {
      const float* g = d_out + i * C + c0;
      const float* x = in + i * C + c0;
      const float m = mean[i], r = rstd[i];
#pragma omp simd
      for (int64_t c = 0; c < width; c++) {
        acc_w[c] += g[c] * (x[c] - m) * r;
        acc_b[c] += g[c];
      }
    }
    for (int64_t c = 0; c < width; c++) {
      d_w[c0 + c] += acc_w[c];
      d_bias[c0 + c] += acc_b[c];
    }
  }
  // d_in = rstd · (dnorm - mean(dnorm) - norm · mean(dnorm · norm)), dnorm = d_out · w.
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < N; i++) {
    const float* g = d_out + i * C;
    const float* x = in + i * C;
    float* d = d_in + i * C;
    const float m = mean[i], r = rstd[i];
    float s_dnorm = 0.0f, s_dnorm_norm = 0.0f;
#pragma omp simd reduction(+ : s_dnorm, s_dnorm_norm)
    for (int64_t c = 0; c < C; c++) {
      const float dnorm = g[c] * w[c];
      s_dnorm += dnorm;
      s_dnorm_norm += dnorm * (x[c] - m) * r;
    }
    const float mean_dnorm = s_dnorm / static_cast<float>(C);
    const float mean_dnorm_norm = s_dnorm_norm / static_cast<float>(C);
#pragma omp simd
    for (int64_t c = 0; c < C; c++) d[c] = r * (g[c] * w[c] - mean_dnorm - (x[c] - m) * r * mean_dnorm_norm);
  }
}

void layer_norm_backward_scalar(float* d_in, float* d_w, float* d_bias, const float* d_out, const float* in,
                                const float* mean, const float* rstd, const float* w, int64_t N, int64_t C) {
  std::vector<double> dw(C), db(C), norm(C), dnorm(C);
  for (int64_t c = 0; c < C; c++) {
    dw[c] = d_w[c];
    db[c] = d_bias[c];
  }
  for (int64_t i = 0; i < N; i++) {
    const double r = rstd[i];
    double s_dnorm = 0, s_dnorm_norm = 0;
    for (int64_t c = 0; c < C; c++) {
      const double g = d_out[i * C + c];
      norm[c] = (in[i * C + c] - static_cast<double>(mean[i])) * r;
      dnorm[c] = g * w[c];
      dw[c] += g * norm[c];
      db[c] += g;
      s_dnorm += dnorm[c];
      s_dnorm_norm += dnorm[c] * norm[c];
    }
    for (int64_t c = 0; c < C; c++) {
      d_in[i * C + c] = static_cast<float>(r * (dnorm[c] - s_dnorm / C - norm[c] * s_dnorm_norm / C));
    }
  }
  for (int64_t c = 0; c < C; c++) {
    d_w[c] = static_cast<float>(dw[c]);
    d_bias[c] = static_cast<float>(db[c]);
  }
}

}  // namespace embtune
