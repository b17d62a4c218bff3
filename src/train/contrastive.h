// One contrastive training pass (forward, loss, backward) over a batch of anchors and
// candidates, with MultipleNegativesRankingLoss; gradients accumulate into the parameter layout.
// Not the optimizer step or the data pipeline: the trainer calls this, then AdamW.
#pragma once

#include <vector>

#include "model/bert.h"
#include "ops/pooling.h"

namespace embtune {

// Buffers reused from step to step.
struct ContrastiveScratch {
  BertActivations anchor_acts, candidate_acts;
  std::vector<float> anchor_emb, candidate_emb;   // (B, H), (P, H) pooled
  std::vector<float> d_anchor, d_candidate;        // (B, H), (P, H)
  std::vector<float> d_hidden;                     // (N, H)
  std::vector<int32_t> anchor_skip;                // (B) prompt tokens left out of pooling
};

// anchors: B sequences; candidates: the B positives (candidate i belongs to anchor i) followed by
// hard negatives. Pools with `pooling` (leaving the first anchor_prompt_tokens tokens of each
// anchor out, for include_prompt = false), scores by cosine × scale (sentence-transformers' MNRL,
// optionally symmetric), and adds the gradient of the loss to `grads`. Returns the loss.
double mnrl_accumulate_gradients(const BertModel& model, const PackedBatch& anchors, const PackedBatch& candidates,
                                 PoolingMode pooling, float scale, bool symmetric, ContrastiveScratch* s,
                                 float* grads, int32_t anchor_prompt_tokens = 0);

}  // namespace embtune
