// Unpadded scaled-dot-product attention, per (sequence, head) block, with a vectorisable exp;
// and the scalar twin used by tests. Not a flash-attention kernel: T×T scores of one sequence
// and head are held at once, which is small for embedding-model lengths (≤ 8192).
#include "ops/attention.h"

#include <cmath>
#include <cstring>
#include <vector>

namespace embtune {
namespace {

// exp via 2^n · p(r), r = x - n·ln2 in [-ln2/2, ln2/2]; degree-7 Taylor polynomial (error
// below 1e-8 relative), 2^n by building the exponent bits. Cody–Waite split of ln2.
inline float exp_kernel(float x) {
  const float lo = -87.3f, hi = 88.0f;
  float xc = x < lo ? lo : (x > hi ? hi : x);
  float n = std::nearbyint(xc * 1.44269504088896341f);
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  float y = p * scale;
  return x < lo ? 0.0f : y;
}

}  // namespace

void exp_inplace(float* x, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; i++) x[i] = exp_kernel(x[i]);
}

void attention_forward(float* out, const float* q, const float* k, const float* v,
                       const int32_t* cu_seqlens, int64_t num_seqs, int64_t H, int64_t heads) {
  const int64_t D = H / heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
#pragma omp parallel
  {
    std::vector<float> kt, scores;  // (D, T) keys of one head, transposed; (T) one row of scores
#pragma omp for schedule(dynamic, 1) collapse(2)
    for (int64_t s = 0; s < num_seqs; s++) {
      for (int64_t h = 0; h < heads; h++) {
        const int64_t t0 = cu_seqlens[s], T = cu_seqlens[s + 1] - t0;
        if (T <= 0) continue;
        kt.resize(D * T);
        scores.resize(T);
        for (int64_t j = 0; j < T; j++)
          for (int64_t d = 0; d < D; d++) kt[d * T + j] = k[(t0 + j) * H + h * D + d];
        for (int64_t i = 0; i < T; i++) {
          const float* qi = q + (t0 + i) * H + h * D;
          float* sc = scores.data();
#pragma omp simd
          for (int64_t j = 0; j < T; j++) sc[j] = 0.0f;
          for (int64_t d = 0; d < D; d++) {
            const float qd = qi[d] * scale;
            const float* kr = kt.data() + d * T;
#pragma omp simd
            for (int64_t j = 0; j < T; j++) sc[j] += qd * kr[j];
          }
          float mx = sc[0];
          for (int64_t j = 1; j < T; j++) mx = sc[j] > mx ? sc[j] : mx;
          float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
          for (int64_t j = 0; j < T; j++) {
            sc[j] = exp_kernel(sc[j] - mx);
            sum += sc[j];
          }
          const float inv = 1.0f / sum;
          float* oi = out + (t0 + i) * H + h * D;
#pragma omp simd
          for (int64_t d = 0; d < D; d++) oi[d] = 0.0f;
          for (int64_t j = 0; j < T; j++) {
            const float pj = sc[j] * inv;
            const float* vj = v + (t0 + j) * H + h * D;
#pragma omp simd
            for (int64_t d = 0; d < D; d++) oi[d] += pj * vj[d];
          }
        }
      }
    }
  }
}

void attention_forward_scalar(float* out, const float* q, const float* k, const float* v,
                              const int32_t* cu_seqlens, int64_t num_seqs, int64_t H,
                              int64_t heads) {
  const int64_t D = H / heads;
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  for (int64_t s = 0; s < num_seqs; s++) {
    const int64_t t0 = cu_seqlens[s], T = cu_seqlens[s + 1] - t0;
    std::vector<double> p(T);
    for (int64_t h = 0; h < heads; h++) {
      for (int64_t i = 0; i < T; i++) {
        double mx = -INFINITY;
        for (int64_t j = 0; j < T; j++) {
          double acc = 0;
          for (int64_t d = 0; d < D; d++)
            acc += static_cast<double>(q[(t0 + i) * H + h * D + d]) * k[(t0 + j) * H + h * D + d];
          p[j] = acc * scale;
          mx = std::max(mx, p[j]);
        }
        double sum = 0;
        for (int64_t j = 0; j < T; j++) sum += (p[j] = std::exp(p[j] - mx));
        for (int64_t d = 0; d < D; d++) {
          double acc = 0;
          for (int64_t j = 0; j < T; j++) acc += p[j] / sum * v[(t0 + j) * H + h * D + d];
          out[(t0 + i) * H + h * D + d] = static_cast<float>(acc);
        }
      }
    }
  }
}

}  // namespace embtune
