// CoSENT, AnglE, Triplet and MarginMSE losses on raw embeddings, forward and backward in double.
// Not fast kernels: B × D (and CoSENT's B²) is tiny next to the encoder, so they have no scalar twin.
#include "ops/loss_pairs.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/status.h"

namespace embtune {
namespace {

double norm2(const float* x, int64_t D) {
  double ss = 0;
  for (int64_t c = 0; c < D; c++) ss += static_cast<double>(x[c]) * x[c];
  return std::sqrt(ss);
}

double dot(const float* x, const float* y, int64_t D) {
  double acc = 0;
  for (int64_t c = 0; c < D; c++) acc += static_cast<double>(x[c]) * y[c];
  return acc;
}

// torch.sign: the subgradient of |u| that autograd uses, 0 at 0.
double sign(double u) { return u > 0 ? 1.0 : (u < 0 ? -1.0 : 0.0); }

// The CoSENT ranking term over scores s (B): log(1 + Σ_{labels_i < labels_j} exp(s_i − s_j)),
// written as a log-sum-exp shifted by its largest term (0 included) so no exp overflows at
// scale 20. d_s (B) gets d loss / d s_i = Σ_j w_ij − Σ_j w_ji with w_ij = exp(s_i − s_j − loss)
// over the counted pairs. Row sums are kept per i and added in order, so the result does not
// depend on the thread count.
double cosent_from_scores(std::vector<double>& d_s, const std::vector<double>& s, const float* labels, int64_t B) {
  double shift = 0;
#pragma omp parallel for schedule(static) reduction(max : shift)
  for (int64_t i = 0; i < B; i++)
    for (int64_t j = 0; j < B; j++)
      if (labels[i] < labels[j]) shift = std::max(shift, s[i] - s[j]);
  std::vector<double> row_sum(B);  // (B)
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < B; i++) {
    double acc = 0;
    for (int64_t j = 0; j < B; j++)
      if (labels[i] < labels[j]) acc += std::exp(s[i] - s[j] - shift);
    row_sum[i] = acc;
  }
  double sum = std::exp(-shift);
  for (int64_t i = 0; i < B; i++) sum += row_sum[i];
  const double loss = shift + std::log(sum);
  d_s.assign(B, 0.0);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < B; i++) {
    double g = 0;
    for (int64_t j = 0; j < B; j++) {
      if (labels[i] < labels[j]) g += std::exp(s[i] - s[j] - loss);
      if (labels[j] < labels[i]) g -= std::exp(s[j] - s[i] - loss);
    }
    d_s[i] = g;
  }
  return loss;
}

// F.normalize's divisor: max(‖x‖₂, 1e-12).
constexpr double kNormalizeEps = 1e-12;

// d cos / d x for cos = x̂·ŷ with x̂ = x / n_x, ŷ = y / n_y and clamped norms, times g, written to
// d_x (D): g (ŷ − cos x̂) / n_x, or g ŷ / n_x where n_x was clamped (the clamp passes no gradient).
void cos_backward(float* d_x, const float* x, const float* y, double nx, double ny, bool x_clamped, double cos,
                  double g, int64_t D) {
  const double proj = x_clamped ? 0.0 : cos;
  for (int64_t c = 0; c < D; c++) d_x[c] = static_cast<float>(g * (y[c] / ny - proj * x[c] / nx) / nx);
}

// One component of an embedding read as a complex vector split at h: the imaginary part of the last
// coordinate is the zero ST pads an odd D with.
double at_or_zero(const float* x, int64_t k, int64_t D) { return k < D ? static_cast<double>(x[k]) : 0.0; }

}  // namespace

double cosent_forward_backward(float* d_a, float* d_b, const float* a, const float* b, const float* labels,
                               int64_t B, int64_t D, float scale) {
  ET_CHECK(B > 0 && D > 0);
  std::vector<double> s(B), na(B), nb(B);  // (B) scores and clamped norms
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < B; i++) {
    na[i] = std::max(norm2(a + i * D, D), kNormalizeEps);
    nb[i] = std::max(norm2(b + i * D, D), kNormalizeEps);
    s[i] = scale * dot(a + i * D, b + i * D, D) / (na[i] * nb[i]);
  }
  std::vector<double> d_s;  // (B)
  const double loss = cosent_from_scores(d_s, s, labels, B);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < B; i++) {
    const double cos = s[i] / scale, g = scale * d_s[i];
    const float *ai = a + i * D, *bi = b + i * D;
    cos_backward(d_a + i * D, ai, bi, na[i], nb[i], na[i] <= kNormalizeEps, cos, g, D);
    cos_backward(d_b + i * D, bi, ai, nb[i], na[i], nb[i] <= kNormalizeEps, cos, g, D);
  }
  return loss;
}

double angle_forward_backward(float* d_a, float* d_b, const float* a, const float* b, const float* labels,
                              int64_t B, int64_t D, float scale) {
  ET_CHECK(B > 0 && D > 0);
  const int64_t h = (D + 1) / 2;              // complex components; x[h + k] is Im of component k
  std::vector<double> s(B), u(B), nx(B), ny(B);  // (B) scores, unnormalised sums, clamped norms
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < B; i++) {
    const float *x = a + i * D, *y = b + i * D;
    double acc = 0;
    for (int64_t k = 0; k < h; k++) {
      const double re_x = x[k], im_x = at_or_zero(x, h + k, D), re_y = y[k], im_y = at_or_zero(y, h + k, D);
      acc += re_x * re_y + im_x * im_y + im_x * re_y - re_x * im_y;
    }
    u[i] = acc;
    nx[i] = std::max(norm2(x, D), kNormalizeEps);
    ny[i] = std::max(norm2(y, D), kNormalizeEps);
    s[i] = scale * std::fabs(acc) / (nx[i] * ny[i]);
  }
  std::vector<double> d_s;  // (B)
  const double loss = cosent_from_scores(d_s, s, labels, B);
  // d sim / d x_c = sign(u) (d u / d x_c) / (n_x n_y) − sim x_c / n_x², the second term absent
  // where n_x was clamped; likewise for y.
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < B; i++) {
    const float *x = a + i * D, *y = b + i * D;
    float *dx = d_a + i * D, *dy = d_b + i * D;
    const double g = scale * d_s[i], sim = s[i] / scale;
    const double du = g * sign(u[i]) / (nx[i] * ny[i]);
    const double rx = nx[i] > kNormalizeEps ? g * sim / (nx[i] * nx[i]) : 0.0;
    const double ry = ny[i] > kNormalizeEps ? g * sim / (ny[i] * ny[i]) : 0.0;
    for (int64_t k = 0; k < h; k++) {
      const double re_x = x[k], im_x = at_or_zero(x, h + k, D), re_y = y[k], im_y = at_or_zero(y, h + k, D);
      dx[k] = static_cast<float>(du * (re_y - im_y) - rx * re_x);
      dy[k] = static_cast<float>(du * (re_x + im_x) - ry * re_y);
      if (h + k < D) {
        dx[h + k] = static_cast<float>(du * (re_y + im_y) - rx * im_x);
        dy[h + k] = static_cast<float>(du * (im_x - re_x) - ry * im_y);
      }
    }
  }
  return loss;
}

namespace {

// torch.nn.functional.pairwise_distance's eps, added to x − y before the norm.
constexpr double kPairwiseDistanceEps = 1e-6;
// torch.nn.functional.cosine_similarity's eps, the floor of each norm.
constexpr double kCosineSimilarityEps = 1e-8;

// dist(x, y) under `metric`; gx, gy (D) get d dist / d x and d dist / d y.
double triplet_distance(double* gx, double* gy, const float* x, const float* y, int64_t D, TripletMetric metric) {
  switch (metric) {
    case TripletMetric::Euclidean: {
      double ss = 0;
      for (int64_t c = 0; c < D; c++) {
        gx[c] = static_cast<double>(x[c]) - y[c] + kPairwiseDistanceEps;
        ss += gx[c] * gx[c];
      }
      const double d = std::sqrt(ss);
      const double inv = d > 0 ? 1.0 / d : 0.0;  // torch's norm backward is 0 at a zero argument
      for (int64_t c = 0; c < D; c++) {
        gx[c] *= inv;
        gy[c] = -gx[c];
      }
      return d;
    }
    case TripletMetric::Manhattan: {
      double d = 0;
      for (int64_t c = 0; c < D; c++) {
        const double e = static_cast<double>(x[c]) - y[c] + kPairwiseDistanceEps;
        d += std::fabs(e);
        gx[c] = sign(e);
        gy[c] = -gx[c];
      }
      return d;
    }
    case TripletMetric::Cosine: {
      const double nx = std::max(norm2(x, D), kCosineSimilarityEps);
      const double ny = std::max(norm2(y, D), kCosineSimilarityEps);
      const double cos = dot(x, y, D) / (nx * ny);
      // torch 1.13 clamps the norms in place under no_grad, so autograd differentiates the
      // unclamped formula at the clamped value: the projection term stays even when clamped.
      for (int64_t c = 0; c < D; c++) {
        gx[c] = -(y[c] / ny - cos * x[c] / nx) / nx;
        gy[c] = -(x[c] / nx - cos * y[c] / ny) / ny;
      }
      return 1.0 - cos;
    }
  }
  ET_CHECK(false);
  return 0;
}

}  // namespace

double triplet_forward_backward(float* d_a, float* d_p, float* d_n, const float* a, const float* p,
                                const float* n, int64_t B, int64_t D, float margin, TripletMetric metric) {
  ET_CHECK(B > 0 && D > 0);
  std::vector<double> hinge(B);  // (B) relu(dist_pos − dist_neg + margin)
  const double w = 1.0 / static_cast<double>(B);
#pragma omp parallel
  {
    std::vector<double> ga_p(D), gp(D), ga_n(D), gn(D);  // (D) each: distance gradients of one triplet
#pragma omp for schedule(static)
    for (int64_t i = 0; i < B; i++) {
      const float *ai = a + i * D, *pi = p + i * D, *ni = n + i * D;
      const double dist_pos = triplet_distance(ga_p.data(), gp.data(), ai, pi, D, metric);
      const double dist_neg = triplet_distance(ga_n.data(), gn.data(), ai, ni, D, metric);
      const double v = dist_pos - dist_neg + margin;
      hinge[i] = v > 0 ? v : 0.0;
      const double g = v > 0 ? w : 0.0;
      for (int64_t c = 0; c < D; c++) {
        d_a[i * D + c] = static_cast<float>(g * (ga_p[c] - ga_n[c]));
        d_p[i * D + c] = static_cast<float>(g * gp[c]);
        d_n[i * D + c] = static_cast<float>(-g * gn[c]);
      }
    }
  }
  double sum = 0;
  for (int64_t i = 0; i < B; i++) sum += hinge[i];
  return sum * w;
}

double margin_mse_forward_backward(float* d_q, float* d_pos, float* d_negs, const float* q, const float* pos,
                                   const float* negs, const float* labels, int64_t B, int64_t K, int64_t D) {
  ET_CHECK(B > 0 && K > 0 && D > 0);
  std::vector<double> row_loss(B);  // (B) Σ_k (pred_ik − labels_ik)²
  const double w = 1.0 / static_cast<double>(B * K);
#pragma omp parallel
  {
    std::vector<double> g(K);  // (K) d loss / d pred_ik of one query
#pragma omp for schedule(static)
    for (int64_t i = 0; i < B; i++) {
      const float *qi = q + i * D, *pi = pos + i * D;
      const double score_pos = dot(qi, pi, D);
      double acc = 0, g_sum = 0;
      for (int64_t k = 0; k < K; k++) {
        const double r = score_pos - dot(qi, negs + (k * B + i) * D, D) - labels[i * K + k];
        acc += r * r;
        g[k] = 2.0 * w * r;
        g_sum += g[k];
      }
      row_loss[i] = acc;
      for (int64_t c = 0; c < D; c++) {
        double dq = g_sum * pi[c];
        for (int64_t k = 0; k < K; k++) dq -= g[k] * negs[(k * B + i) * D + c];
        d_q[i * D + c] = static_cast<float>(dq);
        d_pos[i * D + c] = static_cast<float>(g_sum * qi[c]);
      }
      for (int64_t k = 0; k < K; k++)
        for (int64_t c = 0; c < D; c++) d_negs[(k * B + i) * D + c] = static_cast<float>(-g[k] * qi[c]);
    }
  }
  double sum = 0;
  for (int64_t i = 0; i < B; i++) sum += row_loss[i];
  return sum * w;
}

}  // namespace embtune
