// Linear layers: out = in · weightᵀ + bias, with weights stored as PyTorch stores nn.Linear
// (out_features, in_features). oneDNN does the fast path; a scalar twin is kept for tests.
// Not a general GEMM API: shapes are the ones a transformer needs, row-major, contiguous.
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

// Applies an activation in place (n values), as a standalone op.
void activation_forward(float* x, int64_t n, Activation act);
void activation_forward_scalar(float* x, int64_t n, Activation act);

}  // namespace embtune
