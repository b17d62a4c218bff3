// Multi-head self-attention on packed, unpadded batches, forward and backward: each sequence
// attends only to itself, so no T×T matrix is ever built for padding. Not the projections (matmul.h).
#pragma once

#include <cstdint>

#include "ops/dropout.h"
#include "ops/matmul.h"

namespace embtune {

// Attention-probability dropout (`dropout`, inactive by default): after the softmax, each
// probability is kept with 1 − p and scaled by 1 / (1 − p), as BertSelfAttention does in
// training. Element (query row t of the packed batch, key j of its sequence) of head h draws
// counter ((t · heads + h) << 32) + j from `dropout`, so forward, backward and the scalar twins
// see one mask, whatever the threading. An inactive mask runs the plain kernels.

// q, k, v, out: (N, H) with head h in columns [h*D, (h+1)*D), D = H / heads. Sequence s holds
// rows [cu_seqlens[s], cu_seqlens[s+1]). out = softmax(q kᵀ / sqrt(D)) v per sequence and head.
// Threaded over sequences, longest first; a sequence's heads run as batched oneDNN products,
// as many heads at a time as keep their scores in cache, padded to a multiple of 8 rows
// (padding keys get probability 0). In bf16, q, k, v and the
// probabilities are rounded to bf16 for the two products (fp32 accumulation); the softmax is
// fp32 either way. The result does not depend on the thread count. out must not alias q, k or v.
// `qkv_ld` (0: H) is the row stride of q, k and v, in floats: BertModel keeps them side by side
// in one (N, 3H) product, q = qkv, k = qkv + H, v = qkv + 2H, qkv_ld = 3H.
void attention_forward(float* out, const float* q, const float* k, const float* v,
                       const int32_t* cu_seqlens, int64_t num_seqs, int64_t H, int64_t heads,
                       const DropoutMask& dropout = {}, Precision precision = Precision::Fp32,
                       int64_t qkv_ld = 0);
void attention_forward_scalar(float* out, const float* q, const float* k, const float* v,
                              const int32_t* cu_seqlens, int64_t num_seqs, int64_t H,
                              int64_t heads, const DropoutMask& dropout = {});

// Gradients of attention_forward. d_out, q, k, v, d_q, d_k, d_v: (N, H) in the same packed
// layout. The probabilities are recomputed per (sequence, head) from q and k, so the forward
// saves nothing beyond its inputs. d_q, d_k and d_v are written (=), not accumulated; they must
// not alias each other or the inputs. Threaded over sequences; each writes only its own rows.
// `dropout` must be the mask the forward used: it is regenerated. In bf16 the five products
// (S, dP, dQ, dK, dV) take bf16 inputs (q, k, v, d_out, dS, P) and accumulate in fp32.
// `qkv_ld` (0: H) is the row stride of q, k, v and of d_q, d_k, d_v; d_out's is H.
void attention_backward(float* d_q, float* d_k, float* d_v, const float* d_out, const float* q,
                        const float* k, const float* v, const int32_t* cu_seqlens,
                        int64_t num_seqs, int64_t H, int64_t heads, const DropoutMask& dropout = {},
                        Precision precision = Precision::Fp32, int64_t qkv_ld = 0);
// attention_forward and attention_backward in bf16 on inputs already rounded, as BertModel's bf16
// path keeps them: q, k, v side by side in qkv16 (N, 3H) (one product wrote them rounded), out16
// (N, H) the output rounded to bf16, d_out16 (N, H) its gradient rounded. The backward writes
// d_qkv16 (N, 3H) = d_q | d_k | d_v rounded to bf16 (=), the next product's input, and adds the
// column sums of the fp32 d_q | d_k | d_v into d_bias (3H; null skips it): the projections' bias
// gradient, summed per sequence in row order and then over sequences in order, so that it does
// not depend on the threading. The arithmetic is attention_forward's / attention_backward's in
// Precision::Bf16 on the fp32 values these patterns hold, bit for bit, with the outputs rounded.
void attention_forward_bf16(uint16_t* out16, const uint16_t* qkv16, const int32_t* cu_seqlens, int64_t num_seqs,
                            int64_t H, int64_t heads, const DropoutMask& dropout = {});
void attention_backward_bf16(uint16_t* d_qkv16, float* d_bias, const uint16_t* d_out16, const uint16_t* qkv16,
                             const int32_t* cu_seqlens, int64_t num_seqs, int64_t H, int64_t heads,
                             const DropoutMask& dropout = {});
// Scalar twin in double, same contract (written, =).
void attention_backward_scalar(float* d_q, float* d_k, float* d_v, const float* d_out,
                               const float* q, const float* k, const float* v,
                               const int32_t* cu_seqlens, int64_t num_seqs, int64_t H,
                               int64_t heads, const DropoutMask& dropout = {});

// exp(x) for a vector, accurate to about 2 ulp over [-87, 88], vectorisable (no libm calls);
// exp of x < -87.3 is 0. Exposed for its test against std::exp.
void exp_inplace(float* x, int64_t n);

}  // namespace embtune
