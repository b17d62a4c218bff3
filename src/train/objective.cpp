// Dispatch from --loss to the loss kernels, on embeddings laid out column by column.
// Not the kernels themselves (ops/loss.cpp, ops/loss_pairs.cpp).
#include "train/objective.h"

#include "ops/loss.h"

namespace embtune {

Status loss_spec_from_names(const std::string& loss, const std::string& distance, double scale, bool symmetric,
                            double margin, LossSpec* out) {
  LossSpec l;
  if (loss == "mnrl" || loss == "MultipleNegativesRankingLoss") l.kind = LossKind::Mnrl;
  else if (loss == "MultipleNegativesSymmetricRankingLoss") l.kind = LossKind::Mnrl, symmetric = true;
  else if (loss == "cosent" || loss == "CoSENTLoss") l.kind = LossKind::CoSent;
  else if (loss == "angle" || loss == "AnglELoss") l.kind = LossKind::Angle;
  else if (loss == "triplet" || loss == "TripletLoss") l.kind = LossKind::Triplet;
  else if (loss == "marginmse" || loss == "MarginMSELoss") l.kind = LossKind::MarginMse;
  else return make_error("--loss %s: unknown (mnrl, cosent, angle, triplet, marginmse)", loss.c_str());
  if (distance == "euclidean") l.distance = TripletMetric::Euclidean;
  else if (distance == "cosine") l.distance = TripletMetric::Cosine;
  else if (distance == "manhattan") l.distance = TripletMetric::Manhattan;
  else return make_error("--distance %s: unknown (euclidean, cosine, manhattan)", distance.c_str());
  if (!(scale > 0)) return make_error("--scale must be positive");
  if (!(margin >= 0)) return make_error("--margin must not be negative");
  if (symmetric && l.kind != LossKind::Mnrl) return make_error("--symmetric applies to --loss mnrl only");
  l.scale = static_cast<float>(scale);
  l.symmetric = symmetric;
  l.margin = static_cast<float>(margin);
  *out = l;
  return Status::ok_status();
}

const char* loss_class_name(const LossSpec& l) {
  switch (l.kind) {
    case LossKind::Mnrl: return l.symmetric ? "MultipleNegativesSymmetricRankingLoss" : "MultipleNegativesRankingLoss";
    case LossKind::CoSent: return "CoSENTLoss";
    case LossKind::Angle: return "AnglELoss";
    case LossKind::Triplet: return "TripletLoss";
    case LossKind::MarginMse: return "MarginMSELoss";
  }
  return "?";
}

LossColumns loss_columns(LossKind k) {
  switch (k) {
    case LossKind::Mnrl: return {2, 64, false, true, "(anchor, positive[, negative_1, …])"};
    case LossKind::CoSent:
    case LossKind::Angle: return {2, 2, true, false, "(sentence1, sentence2) and a score"};
    case LossKind::Triplet: return {3, 3, false, false, "(anchor, positive, negative)"};
    case LossKind::MarginMse: return {3, 3, true, false, "(query, positive, negative) and a score (the teacher's margin)"};
  }
  return {0, 0, false, false, ""};
}

double loss_forward_backward(const LossSpec& l, float* d_emb, const float* emb, int64_t B, int64_t cols, int64_t D,
                             const float* scores) {
  const int64_t BD = B * D;
  switch (l.kind) {
    case LossKind::Mnrl:
      return mnrl_forward_backward(d_emb, d_emb + BD, emb, emb + BD, B, (cols - 1) * B, D, l.scale, l.symmetric);
    case LossKind::CoSent: return cosent_forward_backward(d_emb, d_emb + BD, emb, emb + BD, scores, B, D, l.scale);
    case LossKind::Angle: return angle_forward_backward(d_emb, d_emb + BD, emb, emb + BD, scores, B, D, l.scale);
    case LossKind::Triplet:
      return triplet_forward_backward(d_emb, d_emb + BD, d_emb + 2 * BD, emb, emb + BD, emb + 2 * BD, B, D, l.margin,
                                      l.distance);
    case LossKind::MarginMse:
      return margin_mse_forward_backward(d_emb, d_emb + BD, d_emb + 2 * BD, emb, emb + BD, emb + 2 * BD, scores, B,
                                         cols - 2, D);
  }
  return 0;
}

}  // namespace embtune
