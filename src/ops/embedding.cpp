// Embedding gather-and-sum, threaded over tokens.
// Not a scalar-twin pair: the op is plain additions with one order, its own reference.
#include "ops/embedding.h"

namespace embtune {

void embedding_forward(float* out, const int32_t* ids, const int32_t* pos_ids,
                       const int32_t* type_ids, const float* word, const float* pos,
                       const float* type, int64_t N, int64_t H) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < N; i++) {
    const float* w = word + static_cast<int64_t>(ids[i]) * H;
    const float* p = pos + static_cast<int64_t>(pos_ids[i]) * H;
    const float* t = type + static_cast<int64_t>(type_ids ? type_ids[i] : 0) * H;
    float* o = out + i * H;
#pragma omp simd
    for (int64_t c = 0; c < H; c++) o[c] = w[c] + p[c] + t[c];
  }
}

}  // namespace embtune
