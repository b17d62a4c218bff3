// The forward, loss and backward of one training micro-batch.
// Not the choice of rows (trainer.cpp) or the loss kernels (ops/).
#include "train/train_step.h"

#include <algorithm>

#include "core/status.h"

namespace embtune {

TrainStepResult train_micro_batch(const BertModel& model, const SentenceHead& head, const PackedBatch& batch,
                                  int64_t B, int64_t cols, int32_t anchor_prompt_tokens, const LossSpec& loss,
                                  const float* scores, float grad_scale, TrainStepScratch* s, float* grads,
                                  float* head_grads, const DropoutConfig& dropout) {
  const int64_t S = batch.num_seqs(), N = batch.num_tokens(), H = model.config().hidden_size, D = head.dim();
  ET_CHECK(S == B * cols);
  s->skip.assign(S, 0);
  std::fill(s->skip.begin(), s->skip.begin() + B, anchor_prompt_tokens);
  const int32_t* skip = anchor_prompt_tokens > 0 ? s->skip.data() : nullptr;
  const int32_t* cu = batch.cu_seqlens.data();

  model.forward_train(&s->acts, batch, dropout);
  head.forward_train(&s->head_acts, s->acts.hidden(), cu, skip, S);
  s->d_emb.resize(S * D);
  TrainStepResult r;
  r.loss = loss_forward_backward(loss, s->d_emb.data(), s->head_acts.embedding(), B, cols, D, scores);
  r.tokens = N;
  if (grad_scale != 1.0f)
    for (float& g : s->d_emb) g *= grad_scale;
  s->d_hidden.assign(N * H, 0.0f);
  head.backward(s->d_hidden.data(), head_grads, s->head_acts, s->d_emb.data(), s->acts.hidden(), cu, skip);
  model.backward(grads, s->acts, s->d_hidden.data(), batch, dropout);
  return r;
}

}  // namespace embtune
