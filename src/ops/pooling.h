// Sentence pooling of token embeddings (mean, CLS, max, last token, mean·sqrt(len)) over packed
// sequences, and L2 normalisation. Not the Dense head (matmul.h).
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

// Each row of x (S, D) divided by max(‖row‖₂, 1e-12), as torch.nn.functional.normalize does.
void l2_normalize_forward(float* x, int64_t S, int64_t D);

}  // namespace embtune
