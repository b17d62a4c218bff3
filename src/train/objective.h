// The training objective chosen with --loss: which columns it needs, and its value and gradient
// on a micro-batch of sentence embeddings laid out column by column. Not the kernels
// (ops/loss.h, ops/loss_pairs.h) and not the encoder passes (train/train_step.h).
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "ops/loss_pairs.h"

namespace embtune {

enum class LossKind { Mnrl, CoSent, Angle, Triplet, MarginMse };

struct LossSpec {
  LossKind kind = LossKind::Mnrl;
  float scale = 20.0f;       // mnrl, cosent, angle
  bool symmetric = false;    // mnrl
  float margin = 5.0f;       // triplet
  TripletMetric distance = TripletMetric::Euclidean;
};

// "mnrl", "cosent", "angle", "triplet", "marginmse" (and the sentence-transformers class names).
Status loss_spec_from_names(const std::string& loss, const std::string& distance, double scale, bool symmetric,
                            double margin, LossSpec* out);
// sentence-transformers' class name, for logs and the model card.
const char* loss_class_name(const LossSpec& l);

// What the data must hold for a loss: how many text columns, and whether each row has a score.
struct LossColumns {
  size_t min_texts, max_texts;
  bool needs_score;
  bool in_batch_negatives;  // rows are each other's negatives: batches must not repeat a text
  const char* names;        // the columns, for error messages
};
LossColumns loss_columns(LossKind k);

// emb: (cols · B, D), the embeddings of column c, row r at row c · B + r (column 0: the anchors).
// scores: (B) per-row scores for cosent / angle / marginmse, else ignored (may be null).
// Returns the loss and writes (=) its gradient into d_emb (cols · B, D).
double loss_forward_backward(const LossSpec& l, float* d_emb, const float* emb, int64_t B, int64_t cols, int64_t D,
                             const float* scores);

}  // namespace embtune
