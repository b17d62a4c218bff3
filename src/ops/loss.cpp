// MultipleNegativesRankingLoss (plain and symmetric) on cosine scores, forward and backward in
// double. Not a fast kernel: B × P × D is tiny next to the encoder, so it has no scalar twin.
#include "ops/loss.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/status.h"

namespace embtune {
namespace {

// y (R, D) = x / max(‖x‖₂, 1e-12) per row, in double; norm (R) gets the divisor.
void normalize_rows(std::vector<double>& y, std::vector<double>& norm, const float* x, int64_t R, int64_t D) {
  y.resize(R * D);
  norm.resize(R);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < R; r++) {
    double ss = 0;
    for (int64_t c = 0; c < D; c++) ss += static_cast<double>(x[r * D + c]) * x[r * D + c];
    norm[r] = std::max(std::sqrt(ss), 1e-12);
    for (int64_t c = 0; c < D; c++) y[r * D + c] = x[r * D + c] / norm[r];
  }
}

// d_x (D) = (d_y − y (y·d_y)) / norm: the gradient through normalize_rows for one row
// (d_y / norm alone where the norm was clamped).
void normalize_row_backward(float* d_x, const double* d_y, const double* y, double norm, int64_t D) {
  double dot = 0;
  if (norm > 1e-12)
    for (int64_t c = 0; c < D; c++) dot += y[c] * d_y[c];
  for (int64_t c = 0; c < D; c++) d_x[c] = static_cast<float>((d_y[c] - y[c] * dot) / norm);
}

// Cross-entropy of n logits x[0], x[stride], … with target t, and its gradient times w added to
// g[0], g[stride], … (softmax − one-hot). Returns the loss.
double cross_entropy(double* g, const double* x, int64_t n, int64_t stride, int64_t t, double w) {
  double mx = -INFINITY;
  for (int64_t j = 0; j < n; j++) mx = std::max(mx, x[j * stride]);
  double sum = 0;
  for (int64_t j = 0; j < n; j++) sum += std::exp(x[j * stride] - mx);
  const double lse = mx + std::log(sum);
  for (int64_t j = 0; j < n; j++) g[j * stride] += w * std::exp(x[j * stride] - lse);
  g[t * stride] -= w;
  return lse - x[t * stride];
}

}  // namespace

double mnrl_forward_backward(float* d_q, float* d_p, const float* q, const float* p, int64_t B,
                             int64_t P, int64_t D, float scale, bool symmetric) {
  ET_CHECK(B > 0 && P >= B);
  std::vector<double> qn, q_norm, pn, p_norm;  // (B, D), (B), (P, D), (P)
  normalize_rows(qn, q_norm, q, B, D);
  normalize_rows(pn, p_norm, p, P, D);
  std::vector<double> scores(B * P), d_scores(B * P, 0.0);  // (B, P)
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < B; i++) {
    for (int64_t j = 0; j < P; j++) {
      double acc = 0;
#pragma omp simd reduction(+ : acc)
      for (int64_t c = 0; c < D; c++) acc += qn[i * D + c] * pn[j * D + c];
      scores[i * P + j] = scale * acc;
    }
  }
  const double w = (symmetric ? 0.5 : 1.0) / static_cast<double>(B);
  double loss = 0;
  for (int64_t i = 0; i < B; i++) loss += w * cross_entropy(&d_scores[i * P], &scores[i * P], P, 1, i, w);
  if (symmetric)  // column j < B: positive j against every anchor, target anchor j
    for (int64_t j = 0; j < B; j++) loss += w * cross_entropy(&d_scores[j], &scores[j], B, P, j, w);

  // d qn = scale · d_scores pn, d pn = scale · d_scoresᵀ qn, then through the normalisation.
#pragma omp parallel
  {
    std::vector<double> g(D);  // (D) gradient of one normalised row
#pragma omp for schedule(static)
    for (int64_t i = 0; i < B; i++) {
      std::fill(g.begin(), g.end(), 0.0);
      for (int64_t j = 0; j < P; j++) {
        const double s = scale * d_scores[i * P + j];
#pragma omp simd
        for (int64_t c = 0; c < D; c++) g[c] += s * pn[j * D + c];
      }
      normalize_row_backward(d_q + i * D, g.data(), &qn[i * D], q_norm[i], D);
    }
#pragma omp for schedule(static)
    for (int64_t j = 0; j < P; j++) {
      std::fill(g.begin(), g.end(), 0.0);
      for (int64_t i = 0; i < B; i++) {
        const double s = scale * d_scores[i * P + j];
#pragma omp simd
        for (int64_t c = 0; c < D; c++) g[c] += s * qn[i * D + c];
      }
      normalize_row_backward(d_p + j * D, g.data(), &pn[j * D], p_norm[j], D);
    }
  }
  return loss;
}

}  // namespace embtune
