// Sentence pooling of token embeddings (mean, CLS, max, last token, mean·sqrt(len)) over packed
// sequences, and L2 normalisation, forward and backward. Not the Dense head (matmul.h).
#pragma once

#include <cstdint>

namespace embtune {

enum class PoolingMode { Cls, Mean, Max, MeanSqrtLen, LastToken };

// x (N, H) packed token states; sequence s spans rows [cu[s], cu[s+1]). Rows before
// cu[s] + skip[s] are left out of mean / max / mean_sqrt_len (sentence-transformers' prompt
// exclusion, include_prompt = false); skip may be null. CLS takes row cu[s], last token
// row cu[s+1]-1. out (S, H) is written at out + s * out_stride (so modes can be concatenated).
void pooling_forward(float* out, int64_t out_stride, const float* x, const int32_t* cu,
                     const int32_t* skip, int64_t S, int64_t H, PoolingMode mode);
void pooling_forward_scalar(float* out, int64_t out_stride, const float* x, const int32_t* cu,
                            const int32_t* skip, int64_t S, int64_t H, PoolingMode mode);
// Gradient of pooling_forward. d_out (S, H) is read at d_out + s * out_stride; d_x (N, H) is
// accumulated (+=), so several concatenated modes add into one buffer. Rows left out by skip get
// nothing. x (N, H) is the forward's input; only Max reads it (it may be null for the other
// modes): each (sequence, column) sends its gradient to one row, the first row of the pooled
// range holding the maximum, as torch.max(dim) picks the first maximal index and its backward
// scatters to that index alone. A column whose maximum is the -1e9 fill (no row above it, or an
// all-prompt text) gets no gradient: in sentence-transformers the fill overwrote the masked
// positions, so the gradient stops there. Threaded over sentences (their rows are disjoint).
void pooling_backward(float* d_x, const float* d_out, int64_t out_stride, const float* x, const int32_t* cu,
                      const int32_t* skip, int64_t S, int64_t H, PoolingMode mode);
void pooling_backward_scalar(float* d_x, const float* d_out, int64_t out_stride, const float* x,
                             const int32_t* cu, const int32_t* skip, int64_t S, int64_t H, PoolingMode mode);
// The same without x, for the modes that do not need it; Max aborts.
void pooling_backward(float* d_x, const float* d_out, int64_t out_stride, const int32_t* cu,
                      const int32_t* skip, int64_t S, int64_t H, PoolingMode mode);
void pooling_backward_scalar(float* d_x, const float* d_out, int64_t out_stride, const int32_t* cu,
                             const int32_t* skip, int64_t S, int64_t H, PoolingMode mode);

// Each row of x (S, D) divided by max(‖row‖₂, 1e-12), as torch.nn.functional.normalize does.
void l2_normalize_forward(float* x, int64_t S, int64_t D);
// The same, saving what the backward needs: y (S, D) = x / norm with norm (S) = max(‖x_s‖₂,
// 1e-12) per row. y may equal x (in place); y is bit-identical to the in-place variant's.
void l2_normalize_forward(float* y, float* norm, const float* x, int64_t S, int64_t D);
// Gradient from the saved output y (S, D) and norm (S): d_x = (d_y − y (y·d_y)) / norm, or
// d_y / norm for rows whose norm was clamped to 1e-12 (the divisor is then a constant).
// d_x (S, D) is written (=) and may equal d_y. Threaded over rows.
void l2_normalize_backward(float* d_x, const float* d_y, const float* y, const float* norm,
                           int64_t S, int64_t D);
void l2_normalize_backward_scalar(float* d_x, const float* d_y, const float* y, const float* norm,
                                  int64_t S, int64_t D);

}  // namespace embtune
