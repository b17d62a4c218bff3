// CoSENT, AnglE, Triplet and MarginMSE (ops/loss_pairs.h): input gradients against central finite
// differences, and loss plus gradients against tests/reference/loss_pairs_ref.py (PyTorch autograd
// over sentence-transformers' formulas). Not MNRL (test_ops.cpp) and not a training run.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "io/npy.h"
#include "ops/loss_pairs.h"
#include "test_util.h"

namespace embtune {
namespace {

using test::central_difference;

// |analytic − numeric| ≤ 1e-4 · max(1, |numeric|). The losses are evaluated in double from the
// fp32 inputs, so the quotient has no output rounding; what is left is the O(eps²) truncation of
// a step of 1e-3 (curvatures here are at most ~scale² = 400, giving ≲ 1e-5 relative) and the
// fp32 rounding of the analytic gradient (6e-8 relative).
constexpr double fd_rtol = 1e-4;
constexpr double fd_eps = 1e-3;

// Checks every element of x (the tensors here are small).
void expect_matches_fd(const std::vector<float>& analytic, std::vector<float>& x, const std::function<double()>& loss,
                       const std::string& what) {
  ASSERT_EQ(analytic.size(), x.size());
  for (size_t i = 0; i < x.size(); i++) {
    const double numeric = central_difference(x, i, fd_eps, loss);
    EXPECT_NEAR(analytic[i], numeric, fd_rtol * std::max(1.0, std::fabs(numeric))) << what << "[" << i << "]";
  }
}

bool all_zero(const float* x, size_t n) { return std::all_of(x, x + n, [](float v) { return v == 0.0f; }); }

// Labels with ties, so some pairs of pairs count in neither direction.
std::vector<float> tied_labels(int64_t B, std::mt19937& rng) {
  std::uniform_int_distribution<int> level(0, 3);
  std::vector<float> labels(B);
  for (auto& l : labels) l = 0.25f * level(rng);
  return labels;
}

using PairLoss = double (*)(float*, float*, const float*, const float*, const float*, int64_t, int64_t, float);

void check_pair_loss_fd(PairLoss fn, int64_t B, int64_t D, float scale, uint32_t seed, const char* name) {
  std::mt19937 rng(seed);
  auto a = test::random_normal(B * D, rng), b = test::random_normal(B * D, rng);
  const auto labels = tied_labels(B, rng);
  std::vector<float> d_a(B * D), d_b(B * D), scratch_a(B * D), scratch_b(B * D);
  const double loss0 = fn(d_a.data(), d_b.data(), a.data(), b.data(), labels.data(), B, D, scale);
  EXPECT_GT(loss0, 0.0) << name;
  auto loss = [&] { return fn(scratch_a.data(), scratch_b.data(), a.data(), b.data(), labels.data(), B, D, scale); };
  const auto tag = std::string(name) + " B=" + std::to_string(B) + " D=" + std::to_string(D);
  expect_matches_fd(d_a, a, loss, tag + " d_a");
  expect_matches_fd(d_b, b, loss, tag + " d_b");
}

TEST(CosentLoss, GradientsMatchFiniteDifferencesWithTiedLabels) {
  check_pair_loss_fd(cosent_forward_backward, 7, 5, 20.0f, 1, "cosent");
  check_pair_loss_fd(cosent_forward_backward, 12, 3, 1.0f, 2, "cosent");
}

TEST(CosentLoss, EqualLabelsGiveZeroLossAndGradient) {
  std::mt19937 rng(3);
  const int64_t B = 5, D = 4;
  auto a = test::random_normal(B * D, rng), b = test::random_normal(B * D, rng);
  std::vector<float> labels(B, 0.5f), d_a(B * D, 7.0f), d_b(B * D, 7.0f);  // 7: proves d_* are written
  EXPECT_EQ(cosent_forward_backward(d_a.data(), d_b.data(), a.data(), b.data(), labels.data(), B, D, 20.0f), 0.0);
  EXPECT_TRUE(all_zero(d_a.data(), d_a.size()));
  EXPECT_TRUE(all_zero(d_b.data(), d_b.size()));
}

TEST(AngleLoss, GradientsMatchFiniteDifferencesForEvenAndOddDimensions) {
  check_pair_loss_fd(angle_forward_backward, 7, 6, 20.0f, 4, "angle");
  check_pair_loss_fd(angle_forward_backward, 9, 7, 20.0f, 5, "angle");
  check_pair_loss_fd(angle_forward_backward, 4, 1, 2.0f, 6, "angle");
}

TEST(AngleLoss, ZeroRowIsFiniteAndGetsNoGradient) {
  std::mt19937 rng(7);
  const int64_t B = 4, D = 6;
  auto a = test::random_normal(B * D, rng), b = test::random_normal(B * D, rng);
  std::fill(a.begin() + D, a.begin() + 2 * D, 0.0f);  // row 1 of a is zero
  const std::vector<float> labels = {0.0f, 1.0f, 0.5f, 0.25f};
  std::vector<float> d_a(B * D), d_b(B * D);
  const double loss = angle_forward_backward(d_a.data(), d_b.data(), a.data(), b.data(), labels.data(), B, D, 20.0f);
  EXPECT_TRUE(std::isfinite(loss));
  for (float g : d_a) EXPECT_TRUE(std::isfinite(g));
  for (float g : d_b) EXPECT_TRUE(std::isfinite(g));
  EXPECT_TRUE(all_zero(d_a.data() + D, D));
  EXPECT_TRUE(all_zero(d_b.data() + D, D));
}

// Triplets built so the hinge is clearly on one side: rows with `active` true have the positive
// far and the negative near the anchor (hinge argument ≫ 0), the others the reverse (≪ 0), so no
// finite-difference step crosses the kink.
struct Triplets {
  std::vector<float> a, p, n;
  std::vector<bool> active;
};

Triplets make_triplets(int64_t B, int64_t D, std::mt19937& rng) {
  Triplets t;
  t.a = test::random_normal(B * D, rng);
  t.p = test::random_normal(B * D, rng);
  t.n = test::random_normal(B * D, rng);
  for (int64_t i = 0; i < B; i++) {
    t.active.push_back(i % 2 == 0);
    const float near = 0.1f, far = 3.0f;
    for (int64_t c = 0; c < D; c++) {
      const float anchor = t.a[i * D + c];
      t.p[i * D + c] = anchor + (t.active.back() ? far : near) * t.p[i * D + c];
      t.n[i * D + c] = anchor + (t.active.back() ? near : far) * t.n[i * D + c];
    }
  }
  return t;
}

struct MetricCase {
  TripletMetric metric;
  float margin;  // small next to the gap between near and far distances
  const char* name;
};

constexpr MetricCase kMetricCases[] = {
    {TripletMetric::Euclidean, 0.5f, "euclidean"},
    {TripletMetric::Cosine, 0.05f, "cosine"},
    {TripletMetric::Manhattan, 0.5f, "manhattan"},
};

TEST(TripletLoss, GradientsMatchFiniteDifferencesOnBothSidesOfTheHinge) {
  for (const MetricCase& mc : kMetricCases) {
    std::mt19937 rng(8);
    const int64_t B = 6, D = 5;
    Triplets t = make_triplets(B, D, rng);
    std::vector<float> d_a(B * D), d_p(B * D), d_n(B * D), s_a(B * D), s_p(B * D), s_n(B * D);
    const double loss0 = triplet_forward_backward(d_a.data(), d_p.data(), d_n.data(), t.a.data(), t.p.data(),
                                                  t.n.data(), B, D, mc.margin, mc.metric);
    EXPECT_GT(loss0, 0.0) << mc.name;
    for (int64_t i = 0; i < B; i++) {
      EXPECT_EQ(all_zero(&d_p[i * D], D), !t.active[i]) << mc.name << " triplet " << i;
      EXPECT_EQ(all_zero(&d_n[i * D], D), !t.active[i]) << mc.name << " triplet " << i;
      EXPECT_EQ(all_zero(&d_a[i * D], D), !t.active[i]) << mc.name << " triplet " << i;
    }
    auto loss = [&] {
      return triplet_forward_backward(s_a.data(), s_p.data(), s_n.data(), t.a.data(), t.p.data(), t.n.data(), B, D,
                                      mc.margin, mc.metric);
    };
    expect_matches_fd(d_a, t.a, loss, std::string(mc.name) + " d_a");
    expect_matches_fd(d_p, t.p, loss, std::string(mc.name) + " d_p");
    expect_matches_fd(d_n, t.n, loss, std::string(mc.name) + " d_n");
  }
}

TEST(TripletLoss, AllHingesInactiveGiveZeroLossAndGradient) {
  for (const MetricCase& mc : kMetricCases) {
    std::mt19937 rng(9);
    const int64_t B = 4, D = 3;
    Triplets t = make_triplets(B, D, rng);
    std::vector<float> d_a(B * D, 7.0f), d_p(B * D, 7.0f), d_n(B * D, 7.0f);
    const double loss = triplet_forward_backward(d_a.data(), d_p.data(), d_n.data(), t.a.data(), t.p.data(),
                                                 t.n.data(), B, D, -1e3f, mc.metric);
    EXPECT_EQ(loss, 0.0) << mc.name;
    EXPECT_TRUE(all_zero(d_a.data(), d_a.size()) && all_zero(d_p.data(), d_p.size()) && all_zero(d_n.data(), d_n.size()))
        << mc.name;
  }
}

TEST(MarginMseLoss, GradientsMatchFiniteDifferencesForOneAndThreeNegatives) {
  for (int64_t K : {1, 3}) {
    std::mt19937 rng(10 + K);
    const int64_t B = 5, D = 4;
    auto q = test::random_normal(B * D, rng), pos = test::random_normal(B * D, rng),
         negs = test::random_normal(K * B * D, rng), labels = test::random_normal(B * K, rng);
    std::vector<float> d_q(B * D), d_pos(B * D), d_negs(K * B * D), s_q(B * D), s_pos(B * D), s_negs(K * B * D);
    margin_mse_forward_backward(d_q.data(), d_pos.data(), d_negs.data(), q.data(), pos.data(), negs.data(),
                                labels.data(), B, K, D);
    auto loss = [&] {
      return margin_mse_forward_backward(s_q.data(), s_pos.data(), s_negs.data(), q.data(), pos.data(), negs.data(),
                                         labels.data(), B, K, D);
    };
    const std::string tag = "K=" + std::to_string(K);
    expect_matches_fd(d_q, q, loss, tag + " d_q");
    expect_matches_fd(d_pos, pos, loss, tag + " d_pos");
    expect_matches_fd(d_negs, negs, loss, tag + " d_negs");
  }
}

TEST(MarginMseLoss, ExactMarginsGiveZeroLoss) {
  const int64_t B = 2, K = 2, D = 2;
  const std::vector<float> q = {1, 0, 0, 2}, pos = {3, 1, 1, 1}, negs = {1, 5, 0, 1, 2, 2, 4, 0};  // (K, B, D)
  // pred_ik = q_i·pos_i − q_i·neg_k,i: query 0: 3 − 1, 3 − 2; query 1: 2 − 2, 2 − 0.
  const std::vector<float> labels = {2, 1, 0, 2};
  std::vector<float> d_q(B * D), d_pos(B * D), d_negs(K * B * D);
  EXPECT_EQ(margin_mse_forward_backward(d_q.data(), d_pos.data(), d_negs.data(), q.data(), pos.data(), negs.data(),
                                        labels.data(), B, K, D),
            0.0);
  EXPECT_TRUE(all_zero(d_q.data(), d_q.size()) && all_zero(d_negs.data(), d_negs.size()));
}

TEST(LossPairsDeathTest, EmptyShapesAbort) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  std::vector<float> x(4), g(4);
  EXPECT_DEATH(margin_mse_forward_backward(g.data(), g.data(), g.data(), x.data(), x.data(), x.data(), x.data(), 2, 0, 2),
               "check failed");
  EXPECT_DEATH(cosent_forward_backward(g.data(), g.data(), x.data(), x.data(), x.data(), 0, 2, 20.0f), "check failed");
}

// ---- Parity with PyTorch -------------------------------------------------------------------

struct Array {
  std::vector<float> data;
  int64_t rows, cols;
};

struct Reference {
  double loss = 0;
  std::map<std::string, std::vector<double>> grads;
};

// Runs loss_pairs_ref.py on `inputs` (written as .npy) with `spec`; fails the test on error.
Reference run_reference(const nlohmann::json& spec, const std::map<std::string, Array>& inputs) {
  test::TempDir tmp;
  test::write_text(tmp.file("spec.json"), spec.dump());
  for (const auto& [name, arr] : inputs) {
    Status st = npy_write_f32(tmp.file(name + ".npy"), arr.data.data(), arr.rows, arr.cols);
    EXPECT_TRUE(st.ok()) << st.message();
  }
  const std::string script = test::source_dir() + "/tests/reference/loss_pairs_ref.py";
  auto r = test::run_command(test::torch_python() + " " + test::sh_quote(script) + " " + test::sh_quote(tmp.path()));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  Reference ref;
  if (r.exit_code != 0) return ref;
  auto j = nlohmann::json::parse(test::read_text(tmp.file("out.json")));
  ref.loss = j["loss"].get<double>();
  for (auto& [name, g] : j["grads"].items()) ref.grads[name] = g.get<std::vector<double>>();
  return ref;
}

// Both sides compute in double from the same fp32 inputs, so they differ by summation order
// (~1e-15 relative) and by the fp32 storage of our gradients (2⁻²⁴ ≈ 6e-8 relative). Hence
// loss within 1e-6 relative and each gradient within 1e-6 · max(1, |torch|): 1e-6 absolute for
// the O(1) gradients of ordinary rows, relative for the huge ones of clamped-norm rows.
constexpr double parity_tol = 1e-6;

// Compares and prints the largest differences (the numbers the report quotes).
void expect_parity(double loss, const Reference& ref, const std::map<std::string, const std::vector<float>*>& grads,
                    const std::string& tag) {
  const double loss_diff = ref.loss == loss ? 0.0 : std::fabs(loss - ref.loss) / std::fabs(ref.loss);
  double grad_diff = 0;  // max over elements of |ours − torch| / max(1, |torch|)
  EXPECT_LE(loss_diff, parity_tol) << tag << ": loss " << loss << " vs torch " << ref.loss;
  for (const auto& [name, g] : grads) {
    auto it = ref.grads.find(name);
    if (it == ref.grads.end()) {
      ADD_FAILURE() << tag << ": torch gave no gradient for " << name;
      continue;
    }
    const std::vector<double>& want = it->second;
    ASSERT_EQ(g->size(), want.size()) << tag << " " << name;
    for (size_t i = 0; i < want.size(); i++) {
      const double diff = std::fabs((*g)[i] - want[i]);
      grad_diff = std::max(grad_diff, diff / std::max(1.0, std::fabs(want[i])));
      EXPECT_LE(diff, parity_tol * std::max(1.0, std::fabs(want[i]))) << tag << " d_" << name << "[" << i << "]";
    }
  }
  std::printf("%-36s vs torch: loss rel diff %.3g, max grad diff %.3g\n", tag.c_str(), loss_diff, grad_diff);
}

void pair_loss_parity(const char* kind, PairLoss fn, int64_t B, int64_t D, float scale, bool zero_row, uint32_t seed) {
  std::mt19937 rng(seed);
  auto a = test::random_normal(B * D, rng), b = test::random_normal(B * D, rng);
  if (zero_row) std::fill(a.begin(), a.begin() + D, 0.0f);
  const auto labels = tied_labels(B, rng);
  std::vector<float> d_a(B * D), d_b(B * D);
  const double loss = fn(d_a.data(), d_b.data(), a.data(), b.data(), labels.data(), B, D, scale);
  const Reference ref = run_reference({{"loss", kind}, {"scale", scale}},
                                      {{"a", {a, B, D}}, {"b", {b, B, D}}, {"labels", {labels, 1, B}}});
  const std::string tag = std::string(kind) + " B=" + std::to_string(B) + " D=" + std::to_string(D) +
                          (zero_row ? " zero row" : "");
  expect_parity(loss, ref, {{"a", &d_a}, {"b", &d_b}}, tag);
}

TEST(LossPairsParity, CosentMatchesTorch) {
  if (test::skip_without_torch()) GTEST_SKIP();
  pair_loss_parity("cosent", cosent_forward_backward, 16, 24, 20.0f, false, 20);
  pair_loss_parity("cosent", cosent_forward_backward, 5, 8, 20.0f, true, 21);
}

TEST(LossPairsParity, AngleMatchesTorchForEvenAndOddDimensions) {
  if (test::skip_without_torch()) GTEST_SKIP();
  pair_loss_parity("angle", angle_forward_backward, 16, 24, 20.0f, false, 22);
  pair_loss_parity("angle", angle_forward_backward, 9, 15, 20.0f, false, 23);
}

TEST(LossPairsParity, TripletMatchesTorchForEveryMetric) {
  if (test::skip_without_torch()) GTEST_SKIP();
  for (const MetricCase& mc : kMetricCases) {
    std::mt19937 rng(24);
    const int64_t B = 10, D = 12;
    Triplets t = make_triplets(B, D, rng);
    // Row 1 gets p = n = a, so its hinge argument is the margin (active) and pairwise_distance's
    // eps is the whole difference. Row 3's anchor is zero: cosine's clamped norm (active there,
    // both distances being 1).
    std::copy(t.a.begin() + D, t.a.begin() + 2 * D, t.p.begin() + D);
    std::copy(t.a.begin() + D, t.a.begin() + 2 * D, t.n.begin() + D);
    std::fill(t.a.begin() + 3 * D, t.a.begin() + 4 * D, 0.0f);
    std::vector<float> d_a(B * D), d_p(B * D), d_n(B * D);
    const double loss = triplet_forward_backward(d_a.data(), d_p.data(), d_n.data(), t.a.data(), t.p.data(),
                                                 t.n.data(), B, D, mc.margin, mc.metric);
    const Reference ref = run_reference({{"loss", "triplet"}, {"margin", mc.margin}, {"metric", mc.name}},
                                        {{"a", {t.a, B, D}}, {"p", {t.p, B, D}}, {"n", {t.n, B, D}}});
    expect_parity(loss, ref, {{"a", &d_a}, {"p", &d_p}, {"n", &d_n}}, std::string("triplet ") + mc.name);
  }
}

TEST(LossPairsParity, MarginMseMatchesTorchForOneAndThreeNegatives) {
  if (test::skip_without_torch()) GTEST_SKIP();
  for (int64_t K : {1, 3}) {
    std::mt19937 rng(25 + K);
    const int64_t B = 8, D = 16;
    auto q = test::random_normal(B * D, rng, 0.3f), pos = test::random_normal(B * D, rng, 0.3f),
         negs = test::random_normal(K * B * D, rng, 0.3f), labels = test::random_normal(B * K, rng);
    std::vector<float> d_q(B * D), d_pos(B * D), d_negs(K * B * D);
    const double loss = margin_mse_forward_backward(d_q.data(), d_pos.data(), d_negs.data(), q.data(), pos.data(),
                                                    negs.data(), labels.data(), B, K, D);
    const Reference ref = run_reference(
        {{"loss", "margin_mse"}, {"num_negatives", K}},
        {{"q", {q, B, D}}, {"pos", {pos, B, D}}, {"negs", {negs, K * B, D}}, {"labels", {labels, B, K}}});
    expect_parity(loss, ref, {{"q", &d_q}, {"pos", &d_pos}, {"negs", &d_negs}}, "margin_mse K=" + std::to_string(K));
  }
}

}  // namespace
}  // namespace embtune
