// sentence-transformers' pair, triplet and distillation losses on raw sentence embeddings (CoSENT,
// AnglE, Triplet, MarginMSE): the loss and its input gradients in one pass. Not MNRL (loss.h).
#pragma once

#include <cstdint>

namespace embtune {

// Every function here reads raw (un-normalised) float embeddings, computes in double, returns the
// loss and writes (=) each d_* with d loss / d input. Gradient buffers must not alias the inputs.
// One implementation each, in plain double loops threaded over rows: there is no separate fast
// kernel, so no scalar twin (as for mnrl_forward_backward). Formulas follow sentence-transformers
// v3–v5 line by line, so that tests/reference/loss_pairs_ref.py can check them with autograd.
//
//   std::vector<float> d_a(B * D), d_b(B * D);
//   double loss = cosent_forward_backward(d_a.data(), d_b.data(), a, b, scores, B, D);

// CoSENTLoss with ST's default pairwise_cos_sim. a, b (B, D): the two sides of B pairs; labels (B):
// the gold similarity of each pair.
//   s_i = scale · cos(a_i, b_i), rows normalised as F.normalize does, x / max(‖x‖₂, 1e-12);
//   loss = log(1 + Σ_{i,j : labels_i < labels_j} exp(s_i − s_j)).
// Every pair scored above a pair with a higher label adds a term; tied labels add none, and a
// batch with all labels equal has loss log 1 = 0. A zero row has cos 0 and, as in torch, a gradient
// divided by the clamped norm 1e-12. Threaded over pairs (the B² term loop and the rows).
double cosent_forward_backward(float* d_a, float* d_b, const float* a, const float* b, const float* labels,
                               int64_t B, int64_t D, float scale = 20.0f);

// AnglELoss: CoSENT with ST's pairwise_angle_sim in place of the cosine. Each row x is read as a
// complex vector, real part x[0:h], imaginary part x[h:D], h = ⌈D/2⌉; an odd D is padded with one
// zero imaginary component, as current ST pads (older releases fail on odd D). For x = (a, b),
// y = (c, d), ST's re/im of x / y summed over all components reduces to
//   angle_sim(x, y) = |Σ_k (a_k c_k + b_k d_k + b_k c_k − a_k d_k)| / (‖x‖₂ ‖y‖₂),
// and s_i = scale · angle_sim(a_i, b_i) enters the CoSENT formula above. ST divides by the raw
// norms, so a zero row gives NaN there; here each norm is clamped at 1e-12, giving similarity 0
// and, through |0|'s zero subgradient (torch's sign(0) = 0), a zero gradient. Requires D ≥ 1.
double angle_forward_backward(float* d_a, float* d_b, const float* a, const float* b, const float* labels,
                              int64_t B, int64_t D, float scale = 20.0f);

// TripletLoss's TripletDistanceMetric. Euclidean is ST's default.
enum class TripletMetric {
  Euclidean,  // F.pairwise_distance(x, y, p=2) = ‖x − y + 1e-6‖₂ (torch adds eps to the difference)
  Cosine,     // 1 − F.cosine_similarity(x, y): each norm clamped at 1e-8
  Manhattan,  // F.pairwise_distance(x, y, p=1) = ‖x − y + 1e-6‖₁
};

// TripletLoss. a, p, n (B, D): anchors, positives, negatives.
//   loss = mean_i relu(dist(a_i, p_i) − dist(a_i, n_i) + margin),  ST's default margin 5.
// A triplet whose hinge argument is ≤ 0 contributes no gradient (relu's subgradient at 0 is 0, as in
// torch). Where torch's norm has a zero argument the subgradient is 0 too: ‖·‖₂ at 0 and |·| at 0.
// For Cosine, a row with norm below 1e-8 follows torch 1.13's cosine_similarity, which clamps the
// norm but differentiates as if it had not: d cos / d x = (ŷ − cos · x / n_x) / n_x, n_x clamped
// (other torch versions may differ for norms strictly between 0 and 1e-8). Threaded over triplets.
double triplet_forward_backward(float* d_a, float* d_p, float* d_n, const float* a, const float* p,
                                const float* n, int64_t B, int64_t D, float margin = 5.0f,
                                TripletMetric metric = TripletMetric::Euclidean);

// MarginMSELoss with ST's default pairwise_dot_score, in current ST's multi-negative form.
// q (B, D) queries, pos (B, D) positives, negs (K, B, D): K ≥ 1 negatives per query, negative k of
// query i at negs[(k·B + i)·D], the layout of ST's list of K (B, D) tensors. labels (B, K): the gold
// margins, labels[i·K + k] = teacher(q_i, pos_i) − teacher(q_i, neg_k,i). (ST also accepts (B, K + 1)
// raw teacher scores and subtracts them itself; pass the differences here.)
//   pred_ik = q_i·pos_i − q_i·neg_k,i,  loss = mean over (i, k) of (pred_ik − labels_ik)².
// Threaded over queries.
double margin_mse_forward_backward(float* d_q, float* d_pos, float* d_negs, const float* q, const float* pos,
                                   const float* negs, const float* labels, int64_t B, int64_t K, int64_t D);

}  // namespace embtune
