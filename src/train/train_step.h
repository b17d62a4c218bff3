// One micro-batch of training: every text of the micro-batch through the encoder in one packed
// batch, the sentence head, the objective, and the backward into fp32 gradients. Not batching,
// the optimizer or logging: the trainer calls this once per micro-batch, then AdamW.
#pragma once

#include <cstdint>
#include <vector>

#include "model/bert.h"
#include "model/sentence_head.h"
#include "train/objective.h"

namespace embtune {

// Buffers reused from micro-batch to micro-batch.
struct TrainStepScratch {
  BertActivations acts;
  SentenceHeadActivations head_acts;
  std::vector<float> d_emb;           // (S, D) the gradient of the sentence embeddings
  std::vector<float> d_hidden;        // (N, H)
  std::vector<int32_t> skip;          // (S) prompt tokens left out of pooling
};

struct TrainStepResult {
  double loss = 0;
  int64_t tokens = 0;
};

// `batch` holds cols · B sequences, column by column (column 0, the anchors, first); the first
// prompt_tokens[c] tokens of column c's texts are left out of pooling (include_prompt = false);
// prompt_tokens may be empty (none anywhere). The
// sentence embeddings are the head's (pooling, Dense, Normalize). Adds grad_scale × d loss / d
// params to `grads` (the encoder's layout) and `head_grads` (the head's; may be null when the
// head has no Dense layer); grad_scale = 1 / micro-batches per step. `dropout` applies to the
// encoder (sentence-transformers' heads have none).
TrainStepResult train_micro_batch(const BertModel& model, const SentenceHead& head, const PackedBatch& batch,
                                  int64_t B, int64_t cols, const std::vector<int32_t>& prompt_tokens, const LossSpec& loss,
                                  const float* scores, float grad_scale, TrainStepScratch* s, float* grads,
                                  float* head_grads, const DropoutConfig& dropout = {});

}  // namespace embtune
