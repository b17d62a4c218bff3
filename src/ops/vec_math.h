// Branch-free float kernels (exp, erf, GELU) written so that loops over them vectorise: no libm
// calls, no data-dependent branches. Not the reference maths: the scalar twins of the ops use
// libm in double; these are for hot loops whose accuracy needs are stated where they are used.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

namespace embtune {

// exp via 2^n · p(r), r = x - n·ln2 in [-ln2/2, ln2/2]; degree-7 Taylor polynomial (error
// below 1e-8 relative), 2^n by building the exponent bits. Cody–Waite split of ln2. n is rounded
// to nearest by the 1.5 · 2^23 trick and every step is branch-free, so loops over it vectorise.
// exp of x < -87.3 is 0.
inline float exp_kernel(float x) {
  const float lo = -87.3f, hi = 88.0f;
  const float xc = std::min(std::max(x, lo), hi);
  const float shifted = xc * 1.44269504088896341f + 12582912.0f;  // n + 1.5 · 2^23
  const float n = shifted - 12582912.0f;
  const int32_t ni = std::bit_cast<int32_t>(shifted) - 0x4B400000;
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
  const float y = p * std::bit_cast<float>((ni + 127) << 23);
  return x >= lo ? y : 0.0f;
}

// erf(x) by Abramowitz & Stegun 7.1.26: 1 − t·P(t)·exp(−x²), t = 1 / (1 + 0.3275911·|x|),
// absolute error ≤ 1.5e-7 (plus float rounding), odd in x.
inline float erf_kernel(float x) {
  const float a = std::min(std::fabs(x), 10.0f);  // erf(10) is 1 in float; keeps exp's input sane
  const float t = 1.0f / (1.0f + 0.3275911f * a);
  float p = 1.061405429f;
  p = p * t - 1.453152027f;
  p = p * t + 1.421413741f;
  p = p * t - 0.284496736f;
  p = p * t + 0.254829592f;
  const float e = 1.0f - p * t * exp_kernel(-a * a);
  return std::copysign(e, x);
}

// GELU, the exact erf form: 0.5 · x · (1 + erf(x / √2)). Absolute error ≤ 1e-7 · max(1, |x|).
inline float gelu_kernel(float x) { return 0.5f * x * (1.0f + erf_kernel(x * 0.70710678118654752f)); }

// GELU's derivative, the exact erf form: 0.5 · (1 + erf(x / √2)) + x · φ(x), φ the standard
// normal density. Absolute error ≤ 2e-7 · max(1, |x|) (erf_kernel's, plus exp_kernel's in φ).
inline float gelu_grad_kernel(float x) {
  const float cdf = 0.5f * (1.0f + erf_kernel(x * 0.70710678118654752f));
  return cdf + x * 0.39894228040143268f * exp_kernel(-0.5f * x * x);
}

}  // namespace embtune
