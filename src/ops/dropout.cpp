// Inverted dropout on flat float arrays with hash-generated masks, forward, backward and the
// scalar twin. Not attention-probability dropout, which is fused into ops/attention.cpp.
#include "ops/dropout.h"

#include <algorithm>
#include <cmath>

#include "core/status.h"

namespace embtune {

DropoutMask dropout_mask(float p, uint64_t seed, uint64_t stream) {
  ET_CHECK(p >= 0.0f && p < 1.0f);
  DropoutMask m;
  m.p = p;
  m.scale = 1.0f / (1.0f - p);
  // p · 2^32 rounded: P(keep) = 1 − threshold / 2^32, within 2^-33 of 1 − p.
  m.threshold = static_cast<uint32_t>(std::min(std::llround(static_cast<double>(p) * 4294967296.0), 4294967295LL));
  // Two rounds of mixing, so nearby seeds and nearby streams give unrelated keys.
  m.key = dropout_mix64(dropout_mix64(seed ^ 0x6a09e667f3bcc909ULL) ^ (stream * 0x9e3779b97f4a7c15ULL));
  return m;
}

void dropout_forward(float* out, const float* in, int64_t n, const DropoutMask& m, uint64_t first_index) {
  const DropoutMask mm = m;  // a local copy, so the vectoriser knows out cannot overwrite it
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; i++) out[i] = dropout_keep(mm, first_index + i) ? in[i] * mm.scale : 0.0f;
}

void dropout_forward_scalar(float* out, const float* in, int64_t n, const DropoutMask& m, uint64_t first_index) {
  for (int64_t i = 0; i < n; i++) {
    const uint64_t h = dropout_mix64(m.key ^ ((first_index + i) * 0x9e3779b97f4a7c15ULL));
    out[i] = (h >> 32) >= m.threshold ? in[i] * m.scale : 0.0f;
  }
}

void dropout_backward(float* d_in, const float* d_out, int64_t n, const DropoutMask& m, uint64_t first_index) {
  dropout_forward(d_in, d_out, n, m, first_index);
}

}  // namespace embtune
