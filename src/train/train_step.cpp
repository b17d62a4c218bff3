// The forward, loss and backward of one training micro-batch.
// Not the choice of rows (trainer.cpp) or the loss kernels (ops/).
#include "train/train_step.h"

#include <algorithm>

#include "core/status.h"

namespace embtune {

TrainStepResult train_micro_batch(const BertModel& model, const SentenceHead& head, const PackedBatch& batch,
                                  int64_t B, int64_t cols, const std::vector<int32_t>& prompt_tokens, const LossSpec& loss,
                                  const float* scores, float grad_scale, TrainStepScratch* s, float* grads,
                                  float* head_grads, const DropoutConfig& dropout) {
  const int64_t S = batch.num_seqs(), N = batch.num_tokens(), H = model.config().hidden_size, D = head.dim();
  ET_CHECK(S == B * cols);
  ET_CHECK(prompt_tokens.empty() || static_cast<int64_t>(prompt_tokens.size()) == cols);
  s->skip.assign(S, 0);
  bool any = false;
  for (int64_t c = 0; c < static_cast<int64_t>(prompt_tokens.size()); c++) {
    std::fill(s->skip.begin() + c * B, s->skip.begin() + (c + 1) * B, prompt_tokens[c]);
    any = any || prompt_tokens[c] > 0;
  }
  const int32_t* skip = any ? s->skip.data() : nullptr;
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
