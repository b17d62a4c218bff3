// The BERT embedding sum: word + position + token type, gathered per packed token, and its
// backward (scatter-add into the tables). Not the layer norm that follows (layer_norm.h).
#pragma once

#include <cstdint>

namespace embtune {

// out (N, H) = word[ids[i]] + pos[pos_ids[i]] + type[type_ids[i]]. type_ids may be null (all 0).
// Ids must already be validated against the table sizes.
void embedding_forward(float* out, const int32_t* ids, const int32_t* pos_ids,
                       const int32_t* type_ids, const float* word, const float* pos,
                       const float* type, int64_t N, int64_t H);

// The backward of embedding_forward: for every token i, d_out (N, H) row i is ADDED to row
// ids[i] of d_word (vocab, H), row pos_ids[i] of d_pos (positions, H) and row type_ids[i] (0 when
// type_ids is null) of d_type (types, H). A null table gradient is skipped (a frozen table).
// Repeated ids accumulate. Multi-threaded over ranges of the hidden dimension, race-free, and
// summed in token order, so the result equals the scalar twin's bit for bit.
void embedding_backward(float* d_word, float* d_pos, float* d_type, const float* d_out, const int32_t* ids,
                        const int32_t* pos_ids, const int32_t* type_ids, int64_t N, int64_t H);
// The plain serial reference of embedding_backward, same contract.
void embedding_backward_scalar(float* d_word, float* d_pos, float* d_type, const float* d_out, const int32_t* ids,
                               const int32_t* pos_ids, const int32_t* type_ids, int64_t N, int64_t H);

}  // namespace embtune
