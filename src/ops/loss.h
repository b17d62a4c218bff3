// Contrastive losses on sentence embeddings: value and input gradients in one pass.
// Not the trainer or optimizer (train/), and not the encoder's pooling or normalisation (pooling.h).
#pragma once

#include <cstdint>

namespace embtune {

// sentence-transformers' MultipleNegativesRankingLoss with cos_sim. q (B, D): anchors. p (P, D):
// candidates, the B positives (row i belongs to anchor i) followed by P − B hard negatives, P ≥ B.
// Rows are L2-normalised inside, x / max(‖x‖₂, 1e-12), with the gradient through it, so q and p
// may be raw pooled embeddings or rows already normalised (torch_bert.py's pool() normalises
// before mnrl_loss's q @ p.T): normalising a unit row again changes neither the loss nor the
// gradient that reaches the encoder (the projection I − y yᵀ is idempotent).
//   scores (B, P) = scale · cos(q_i, p_j),  forward = mean_i cross_entropy(scores_i, i).
// symmetric: MultipleNegativesSymmetricRankingLoss, loss = (forward + backward) / 2 with
//   backward = mean_j cross_entropy(scores[:, :B]ᵀ_j, j) (each positive against all anchors).
// Log-sum-exps and scores are computed in double. Returns the loss; d_q (B, D) and d_p (P, D)
// are written (=) with d loss / d q and d loss / d p. Threaded over rows.
double mnrl_forward_backward(float* d_q, float* d_p, const float* q, const float* p, int64_t B,
                             int64_t P, int64_t D, float scale, bool symmetric);

}  // namespace embtune
