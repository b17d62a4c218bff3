// Linear layers and activations, forward and backward: out = in · weightᵀ + bias, with weights
// stored as PyTorch stores nn.Linear (out_features, in_features). oneDNN does the fast path; a
// scalar twin is kept for tests. Not a general GEMM API: shapes are the ones a transformer
// needs, row-major, contiguous.
#pragma once

#include <cstdint>

namespace embtune {

enum class Activation { None, Gelu, Tanh, Relu, Sigmoid };

// out (M, N) = act(in (M, K) · weight (N, K)ᵀ + bias (N)). bias may be null. Multi-threaded.
// out must not alias in or weight.
void matmul_forward(float* out, const float* in, const float* weight, const float* bias,
                    int64_t M, int64_t K, int64_t N, Activation act = Activation::None);

// The plain reference of matmul_forward (double accumulation, erf-based GELU).
void matmul_forward_scalar(float* out, const float* in, const float* weight, const float* bias,
                           int64_t M, int64_t K, int64_t N, Activation act = Activation::None);

// The backward of matmul_forward without activation (apply activation_backward first).
//   d_in (M, K)     = d_out (M, N) · weight (N, K)     WRITTEN; null skips it
//   d_weight (N, K) += d_out (M, N)ᵀ · in (M, K)       ACCUMULATED
//   d_bias (N)      += column sums of d_out (M, N)     ACCUMULATED; null skips it
// Multi-threaded. No output may alias another buffer.
void matmul_backward(float* d_in, float* d_weight, float* d_bias, const float* d_out, const float* in,
                     const float* weight, int64_t M, int64_t K, int64_t N);
// The plain reference of matmul_backward (double accumulation), same contract.
void matmul_backward_scalar(float* d_in, float* d_weight, float* d_bias, const float* d_out, const float* in,
                            const float* weight, int64_t M, int64_t K, int64_t N);

// Applies an activation in place (n values), as a standalone op.
void activation_forward(float* x, int64_t n, Activation act);
void activation_forward_scalar(float* x, int64_t n, Activation act);

// d_x (n) = d_y (n) · act'(x), x (n) the PRE-activation values. d_x is WRITTEN and may alias
// d_y (element-wise in place). GELU is the exact erf form (PyTorch's F.gelu default); relu'(0) = 0.
void activation_backward(float* d_x, const float* d_y, const float* x, int64_t n, Activation act);
void activation_backward_scalar(float* d_x, const float* d_y, const float* x, int64_t n, Activation act);

}  // namespace embtune
