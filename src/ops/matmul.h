// Linear layers and activations, forward and backward: out = in · weightᵀ + bias, with weights
// stored as PyTorch stores nn.Linear (out_features, in_features). oneDNN does the fast path; a
// scalar twin is kept for tests. Not a general GEMM API: shapes are the ones a transformer
// needs, row-major, contiguous.
#pragma once

#include <cstdint>

namespace embtune {

enum class Activation { None, Gelu, Tanh, Relu, Sigmoid };

// The arithmetic of a matmul: fp32 throughout, or bf16 inputs (in, weight, d_out rounded to
// bfloat16, round-to-nearest-even) with fp32 accumulation and fp32 outputs, bias and
// activations: mixed precision as PyTorch's CPU autocast runs nn.Linear. Callers keep fp32
// master weights and gradients either way.
enum class Precision { Fp32, Bf16 };

// Whether this CPU multiplies bf16 natively (AVX512-BF16 or AMX); elsewhere oneDNN would
// emulate it slowly or not at all, so bf16 is refused there.
bool cpu_has_native_bf16();

// out (M, N) = act(in (M, K) · weight (N, K)ᵀ + bias (N)). bias may be null. Multi-threaded.
// out must not alias in or weight.
void matmul_forward(float* out, const float* in, const float* weight, const float* bias,
                    int64_t M, int64_t K, int64_t N, Activation act = Activation::None,
                    Precision precision = Precision::Fp32);

// matmul_forward in bf16 with `in` already rounded (bf16 bit patterns, as round_to_bf16 writes
// them): callers that feed one activation to several products, or keep it for the backward,
// round it once. The weight is rounded here.
void matmul_forward_bf16(float* out, const uint16_t* in, const float* weight, const float* bias,
                         int64_t M, int64_t K, int64_t N, Activation act = Activation::None);

// matmul_forward_bf16 writing out (M, N) rounded to bf16 (oneDNN rounds the fp32 result, bias
// included, to nearest even: the bits round_to_bf16 would give), for an output only bf16 products
// read (BertModel's q, k, v, and in inference the GELU output; `act` is applied before rounding).
void matmul_forward_bf16(uint16_t* out16, const uint16_t* in, const float* weight, const float* bias,
                         int64_t M, int64_t K, int64_t N, Activation act = Activation::None);

// The plain reference of matmul_forward (double accumulation, erf-based GELU).
void matmul_forward_scalar(float* out, const float* in, const float* weight, const float* bias,
                           int64_t M, int64_t K, int64_t N, Activation act = Activation::None);

// The backward of matmul_forward without activation (apply activation_backward first).
//   d_in (M, K)     = d_out (M, N) · weight (N, K)     WRITTEN; null skips it
//   d_weight (N, K) += d_out (M, N)ᵀ · in (M, K)       ACCUMULATED
//   d_bias (N)      += column sums of d_out (M, N)     ACCUMULATED; null skips it
// Multi-threaded. No output may alias another buffer.
// In bf16, d_out, in and weight are rounded to bf16 for the two products; d_bias sums fp32 d_out.
void matmul_backward(float* d_in, float* d_weight, float* d_bias, const float* d_out, const float* in,
                     const float* weight, int64_t M, int64_t K, int64_t N, Precision precision = Precision::Fp32);
// matmul_backward in bf16 with `in` already rounded (the forward's bf16 input, kept); d_out and
// the weight are rounded here, d_bias sums the fp32 d_out. Same contract otherwise.
void matmul_backward_bf16(float* d_in, float* d_weight, float* d_bias, const float* d_out, const uint16_t* in,
                          const float* weight, int64_t M, int64_t K, int64_t N);
// matmul_backward_bf16 writing d_in rounded to bf16 (for a gradient only bf16 products read:
// attention's d_out). Same contract otherwise.
void matmul_backward_bf16(uint16_t* d_in16, float* d_weight, float* d_bias, const float* d_out, const uint16_t* in,
                          const float* weight, int64_t M, int64_t K, int64_t N);
// matmul_backward_bf16 with d_out already rounded (d_out16, bf16 patterns), for a caller whose
// own pass made d_out and rounded it; no bias: that pass sums it (gelu_backward_bias_bf16).
void matmul_backward_bf16_rounded(float* d_in, float* d_weight, const uint16_t* d_out16, const uint16_t* in,
                                  const float* weight, int64_t M, int64_t K, int64_t N);
// x (n) rounded to bfloat16 (round to nearest even; NaN stays NaN), as uint16 bit patterns.
void round_to_bf16(uint16_t* out, const float* x, int64_t n);
// The plain reference of matmul_backward (double accumulation), same contract.
void matmul_backward_scalar(float* d_in, float* d_weight, float* d_bias, const float* d_out, const float* in,
                            const float* weight, int64_t M, int64_t K, int64_t N);

// Applies an activation in place (n values), as a standalone op.
void activation_forward(float* x, int64_t n, Activation act);
// y (n) = act(x (n)), out of place (y must not partly overlap x).
void activation_forward(float* y, const float* x, int64_t n, Activation act);
void activation_forward_scalar(float* x, int64_t n, Activation act);
// y16 (n) = GELU(x (n)) rounded to bf16, in one pass (the bf16 path's input of the FFN output
// product: the fp32 GELU is never stored). GELU by gelu_kernel (vec_math.h), within 1e-7 ·
// max(1, |x|) of the exact erf form before rounding. Multi-threaded.
void gelu_forward_bf16(uint16_t* y16, const float* x, int64_t n);
// The same on a bf16 pre-activation (x16, as a bf16-output product wrote it); y16 may be x16.
void gelu_forward_bf16(uint16_t* y16, const uint16_t* x16, int64_t n);

// d_x (n) = d_y (n) · act'(x), x (n) the PRE-activation values. d_x is WRITTEN and may alias
// d_y (element-wise in place). GELU is the exact erf form (PyTorch's F.gelu default); relu'(0) = 0.
void activation_backward(float* d_x, const float* d_y, const float* x, int64_t n, Activation act);
// The bf16 path's GELU backward fused with the next layer's bias gradient and rounding, in one
// pass over (M, N): g = d_y · GELU'(x) (x the pre-activation, GELU' by gelu_grad_kernel,
// vec_math.h), d_bias (N) += the column sums of the fp32 g (same order whatever the thread count;
// null skips it), d_x16 = g rounded to bf16. Multi-threaded.
void gelu_backward_bias_bf16(uint16_t* d_x16, float* d_bias, const float* d_y, const float* x, int64_t M, int64_t N);
// The same on bf16 d_y16 and x16 (BertModel's bf16 path, where the product before writes d_y
// rounded and the pre-activation is kept rounded); d_x16 may be d_y16 (in place).
void gelu_backward_bias_bf16(uint16_t* d_x16, float* d_bias, const uint16_t* d_y16, const uint16_t* x16, int64_t M,
                             int64_t N);
void activation_backward_scalar(float* d_x, const float* d_y, const float* x, int64_t n, Activation act);

}  // namespace embtune
