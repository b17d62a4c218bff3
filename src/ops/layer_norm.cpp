// Layer norm forward (vectorised over C, threaded over rows) and its scalar twin.
// Not fused with the matmul before it: the residual sum is fused here instead.
#include "ops/layer_norm.h"

#include <cmath>
#include <vector>

namespace embtune {

void layer_norm_forward(float* out, float* mean, float* rstd, const float* a, const float* b,
                        const float* w, const float* bias, int64_t N, int64_t C, float eps) {
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

}  // namespace embtune
