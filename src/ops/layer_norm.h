// Layer normalisation over the last dimension, optionally of a residual sum (LN(a + b)).
// Not batch or group norm. The vectorised path and its scalar twin compute in fp32/double.
#pragma once

#include <cstdint>

namespace embtune {

// out (N, C) = LN(a + b) · w + bias, with b optional (null). mean and rstd (N) may be null; when
// given they receive the row statistics (the saved state a backward pass needs).
// out may alias a or b (element-wise in place).
void layer_norm_forward(float* out, float* mean, float* rstd, const float* a, const float* b,
                        const float* w, const float* bias, int64_t N, int64_t C, float eps);
void layer_norm_forward_scalar(float* out, float* mean, float* rstd, const float* a,
                               const float* b, const float* w, const float* bias, int64_t N,
                               int64_t C, float eps);

}  // namespace embtune
