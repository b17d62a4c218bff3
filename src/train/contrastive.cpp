// The MNRL training pass: encoder forward on anchors and candidates, pooling, loss, and the
// backward through pooling and the encoder. Not batching, sampling or optimisation.
#include "train/contrastive.h"

#include <algorithm>

#include "core/status.h"
#include "ops/loss.h"

namespace embtune {

namespace {

// Encoder forward + pooling of one packed batch into emb (S, H).
void encode(const BertModel& model, const PackedBatch& b, PoolingMode pooling, const int32_t* skip,
            BertActivations* acts, std::vector<float>* emb) {
  const int64_t H = model.config().hidden_size;
  model.forward_train(acts, b);
  emb->resize(b.num_seqs() * H);
  pooling_forward(emb->data(), H, acts->hidden(), b.cu_seqlens.data(), skip, b.num_seqs(), H, pooling);
}

// Backward from d_emb (S, H) through pooling and the encoder into grads.
void backprop(const BertModel& model, const PackedBatch& b, PoolingMode pooling, const int32_t* skip,
              const BertActivations& acts, const std::vector<float>& d_emb, std::vector<float>* d_hidden,
              float* grads) {
  const int64_t H = model.config().hidden_size;
  d_hidden->assign(b.num_tokens() * H, 0.0f);
  pooling_backward(d_hidden->data(), d_emb.data(), H, b.cu_seqlens.data(), skip, b.num_seqs(), H, pooling);
  model.backward(grads, acts, d_hidden->data(), b);
}

}  // namespace

double mnrl_accumulate_gradients(const BertModel& model, const PackedBatch& anchors, const PackedBatch& candidates,
                                 PoolingMode pooling, float scale, bool symmetric, ContrastiveScratch* s,
                                 float* grads, int32_t anchor_prompt_tokens) {
  ET_CHECK(candidates.num_seqs() >= anchors.num_seqs());
  const int64_t H = model.config().hidden_size, B = anchors.num_seqs(), P = candidates.num_seqs();
  s->anchor_skip.assign(B, anchor_prompt_tokens);
  const int32_t* skip = anchor_prompt_tokens > 0 ? s->anchor_skip.data() : nullptr;
  encode(model, anchors, pooling, skip, &s->anchor_acts, &s->anchor_emb);
  encode(model, candidates, pooling, nullptr, &s->candidate_acts, &s->candidate_emb);
  s->d_anchor.resize(B * H);
  s->d_candidate.resize(P * H);
  const double loss = mnrl_forward_backward(s->d_anchor.data(), s->d_candidate.data(), s->anchor_emb.data(),
                                            s->candidate_emb.data(), B, P, H, scale, symmetric);
  backprop(model, anchors, pooling, skip, s->anchor_acts, s->d_anchor, &s->d_hidden, grads);
  backprop(model, candidates, pooling, nullptr, s->candidate_acts, s->d_candidate, &s->d_hidden, grads);
  return loss;
}

}  // namespace embtune
