// AdamW with decoupled weight decay, computed as PyTorch's torch.optim.AdamW computes it
// (fp32 state, the same order of operations), over the flat parameter arena.
// Not a learning-rate schedule (the trainer passes each step's lr) and not gradient clipping.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace embtune {

struct AdamWConfig {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;
};

// One AdamW step on n parameters: params, grads, m (first moment) and v (second moment) share
// one layout. `step` counts from 1 (bias correction). `decay` says whether weight decay applies
// to this range (see param_gets_weight_decay). Threaded and vectorised.
void adamw_step(float* params, float* m, float* v, const float* grads, int64_t n, double lr, int64_t step,
                const AdamWConfig& cfg, bool decay);
// The plain reference: the same arithmetic, one element at a time.
void adamw_step_scalar(float* params, float* m, float* v, const float* grads, int64_t n, double lr, int64_t step,
                       const AdamWConfig& cfg, bool decay);

// As the Hugging Face Trainer (and sentence-transformers) group parameters: no weight decay
// on biases and LayerNorm weights.
bool param_gets_weight_decay(const std::string& name);

}  // namespace embtune
