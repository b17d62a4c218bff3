// The BERT embedding sum: word + position + token type, gathered per packed token.
// Not the layer norm that follows (layer_norm.h).
#pragma once

#include <cstdint>

namespace embtune {

// out (N, H) = word[ids[i]] + pos[pos_ids[i]] + type[type_ids[i]]. type_ids may be null (all 0).
// Ids must already be validated against the table sizes.
void embedding_forward(float* out, const int32_t* ids, const int32_t* pos_ids,
                       const int32_t* type_ids, const float* word, const float* pos,
                       const float* type, int64_t N, int64_t H);

}  // namespace embtune
