// Layer normalisation over the last dimension, optionally of a residual sum (LN(a + b)), forward
// and backward. Not batch or group norm. The vectorised paths and their scalar twins compute in
// fp32/double.
#pragma once

#include <cstdint>

namespace embtune {

// out (N, C) = LN(a + b) · w + bias, with b optional (null). mean and rstd (N) may be null; when
// given they receive the row statistics (the saved state a backward pass needs).
// out may alias a or b (element-wise in place). out16, when given, also receives out rounded to
// bf16 (bf16.h), written in the same pass for the bf16 products that read it.
void layer_norm_forward(float* out, float* mean, float* rstd, const float* a, const float* b,
                        const float* w, const float* bias, int64_t N, int64_t C, float eps,
                        uint16_t* out16 = nullptr);
void layer_norm_forward_scalar(float* out, float* mean, float* rstd, const float* a,
                               const float* b, const float* w, const float* bias, int64_t N,
                               int64_t C, float eps);

// The backward of out (N, C) = LN(x) · w + bias, x (N, C) the layer norm's input (a + b of the
// forward), mean and rstd (N) the statistics the forward saved.
//   d_in (N, C) = dL/dx     WRITTEN; with a residual sum it is the gradient of both a and b,
//                           which the caller adds to each branch. d_in may alias d_out.
//   d_w (C)     += Σ_rows d_out · (x - mean) · rstd     ACCUMULATED
//   d_bias (C)  += Σ_rows d_out                         ACCUMULATED
// Multi-threaded, deterministic (no result depends on the thread count).
void layer_norm_backward(float* d_in, float* d_w, float* d_bias, const float* d_out, const float* in,
                         const float* mean, const float* rstd, const float* w, int64_t N, int64_t C);
// The plain reference of layer_norm_backward (double arithmetic), same contract.
void layer_norm_backward_scalar(float* d_in, float* d_w, float* d_bias, const float* d_out, const float* in,
                                const float* mean, const float* rstd, const float* w, int64_t N, int64_t C);

}  // namespace embtune
