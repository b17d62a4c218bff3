// Backward of the linear-layer ops (matmul, activations, layer norm, embeddings): fast kernel
// against its scalar twin, scalar twin against central finite differences of its forward, and
// the accumulate-versus-write contract of every gradient. Not attention, pooling or losses.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "ops/embedding.h"
#include "ops/layer_norm.h"
#include "ops/matmul.h"
#include "test_util.h"

namespace embtune {
namespace {

using test::central_difference;

// max |a - b| / max(1, max |b|): an error relative to the size of the reference values.
double rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double diff = 0, scale = 1;
  for (size_t i = 0; i < a.size(); i++) {
    diff = std::max(diff, static_cast<double>(std::fabs(a[i] - b[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(b[i])));
  }
  return diff / scale;
}

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); i++) s += static_cast<double>(a[i]) * b[i];
  return s;
}

// Every index of a small tensor, a fixed random sample of a large one.
std::vector<size_t> indices_to_check(size_t n, std::mt19937& rng) {
  std::vector<size_t> idx(n);
  for (size_t i = 0; i < n; i++) idx[i] = i;
  if (n <= 256) return idx;
  std::shuffle(idx.begin(), idx.end(), rng);
  idx.resize(64);
  return idx;
}

// Tolerance of every finite-difference check: |analytic - numeric| <= 1e-3 · max(1, |numeric|).
// The loss is a double sum of the fp32 outputs of a scalar twin, so each quotient carries about
// 1e-5 of rounding noise (fp32 output rounding / 2·eps) plus O(eps²) truncation.
constexpr double fd_rtol = 1e-3;

void expect_matches_fd(const std::vector<float>& analytic, std::vector<float>& x, double eps,
                       const std::function<double()>& loss, std::mt19937& rng, const char* what) {
  for (size_t i : indices_to_check(x.size(), rng)) {
    const double numeric = central_difference(x, i, eps, loss);
    EXPECT_NEAR(analytic[i], numeric, fd_rtol * std::max(1.0, std::fabs(numeric))) << what << "[" << i << "]";
  }
}

struct Shape {
  int64_t M, K, N;
};

TEST(MatmulBackward, MatchesScalarOnOddShapes) {
  std::mt19937 rng(11);
  for (Shape s : {Shape{1, 1, 1}, Shape{3, 7, 5}, Shape{17, 33, 65}, Shape{65, 1, 7}, Shape{129, 384, 97},
                  Shape{64, 1536, 384}}) {
    for (bool optional : {true, false}) {
      auto in = test::random_normal(s.M * s.K, rng), w = test::random_normal(s.N * s.K, rng, 0.05f), d_out = test::random_normal(s.M * s.N, rng);
      // Weight gradients start non-zero to exercise accumulation.
      auto dw_fast = test::random_normal(s.N * s.K, rng), db_fast = test::random_normal(s.N, rng);
      auto dw_ref = dw_fast, db_ref = db_fast;
      std::vector<float> di_fast(s.M * s.K, 7.0f), di_ref(s.M * s.K, -7.0f);
      matmul_backward(optional ? di_fast.data() : nullptr, dw_fast.data(), optional ? db_fast.data() : nullptr,
                      d_out.data(), in.data(), w.data(), s.M, s.K, s.N);
      matmul_backward_scalar(optional ? di_ref.data() : nullptr, dw_ref.data(), optional ? db_ref.data() : nullptr,
                             d_out.data(), in.data(), w.data(), s.M, s.K, s.N);
      const auto tag = ::testing::Message() << s.M << "x" << s.K << "x" << s.N << (optional ? "" : " no d_in/d_bias");
      EXPECT_LT(rel_diff(dw_fast, dw_ref), 5e-6) << tag;
      EXPECT_LT(rel_diff(db_fast, db_ref), 5e-6) << tag;
      if (optional) {
        EXPECT_LT(rel_diff(di_fast, di_ref), 5e-6) << tag;
      } else {
        EXPECT_EQ(di_fast, std::vector<float>(s.M * s.K, 7.0f)) << tag;
        EXPECT_EQ(db_fast, db_ref) << tag;
      }
    }
  }
}

TEST(MatmulBackward, MatchesFiniteDifferences) {
  std::mt19937 rng(12);
  for (Shape s : {Shape{3, 7, 5}, Shape{17, 33, 65}}) {
    auto in = test::random_normal(s.M * s.K, rng), w = test::random_normal(s.N * s.K, rng, 0.3f), b = test::random_normal(s.N, rng);
    auto r = test::random_normal(s.M * s.N, rng);  // L = Σ out · r, so d_out = r
    std::vector<float> out(s.M * s.N);
    auto loss = [&] {
      matmul_forward_scalar(out.data(), in.data(), w.data(), b.data(), s.M, s.K, s.N);
      return dot(out, r);
    };
    std::vector<float> d_in(s.M * s.K), d_w(s.N * s.K), d_b(s.N);
    matmul_backward_scalar(d_in.data(), d_w.data(), d_b.data(), r.data(), in.data(), w.data(), s.M, s.K, s.N);
    expect_matches_fd(d_in, in, 1e-2, loss, rng, "d_in");
    expect_matches_fd(d_w, w, 1e-2, loss, rng, "d_weight");
    expect_matches_fd(d_b, b, 1e-2, loss, rng, "d_bias");
  }
}

TEST(MatmulBackward, AccumulatesWeightGradsAndWritesInputGrad) {
  std::mt19937 rng(13);
  const Shape s{9, 33, 17};
  auto in = test::random_normal(s.M * s.K, rng), w = test::random_normal(s.N * s.K, rng), d_out = test::random_normal(s.M * s.N, rng);
  std::vector<float> d_in(s.M * s.K, 5.0f), d_w(s.N * s.K), d_b(s.N);
  matmul_backward(d_in.data(), d_w.data(), d_b.data(), d_out.data(), in.data(), w.data(), s.M, s.K, s.N);
  const auto d_in_once = d_in, d_w_once = d_w, d_b_once = d_b;
  matmul_backward(d_in.data(), d_w.data(), d_b.data(), d_out.data(), in.data(), w.data(), s.M, s.K, s.N);
  EXPECT_EQ(d_in, d_in_once);
  for (size_t i = 0; i < d_w.size(); i++) EXPECT_FLOAT_EQ(d_w[i], 2 * d_w_once[i]) << i;
  for (size_t i = 0; i < d_b.size(); i++) EXPECT_FLOAT_EQ(d_b[i], 2 * d_b_once[i]) << i;
  // No output features: d_in is still written (zeros), the weight gradients are empty.
  matmul_backward(d_in.data(), nullptr, nullptr, nullptr, in.data(), nullptr, s.M, s.K, 0);
  EXPECT_EQ(d_in, std::vector<float>(s.M * s.K, 0.0f));
}

const Activation all_activations[] = {Activation::None, Activation::Gelu, Activation::Tanh, Activation::Relu,
                                      Activation::Sigmoid};

TEST(ActivationBackward, MatchesScalarOnOddSizes) {
  std::mt19937 rng(21);
  for (Activation act : all_activations) {
    for (int64_t n : {1, 7, 33, 65, 1001}) {
      auto x = test::random_normal(n, rng, 3.0f), d_y = test::random_normal(n, rng);
      std::vector<float> fast(n), ref(n);
      activation_backward(fast.data(), d_y.data(), x.data(), n, act);
      activation_backward_scalar(ref.data(), d_y.data(), x.data(), n, act);
      EXPECT_LT(rel_diff(fast, ref), 1e-6) << "act " << int(act) << " n " << n;
      // In place on the incoming gradient.
      activation_backward(d_y.data(), d_y.data(), x.data(), n, act);
      EXPECT_EQ(d_y, fast) << "act " << int(act) << " n " << n;
    }
  }
}

TEST(ActivationBackward, MatchesFiniteDifferences) {
  std::mt19937 rng(22);
  const int64_t n = 65;
  for (Activation act : all_activations) {
    auto x = test::random_normal(n, rng, 2.0f), r = test::random_normal(n, rng);
    for (auto& v : x) {
      if (std::fabs(v) < 0.05f) v = 0.05f;  // keep relu's kink outside the difference stencil
    }
    std::vector<float> y(n), d_x(n);
    auto loss = [&] {
      y = x;
      activation_forward_scalar(y.data(), n, act);
      return dot(y, r);
    };
    activation_backward_scalar(d_x.data(), r.data(), x.data(), n, act);
    expect_matches_fd(d_x, x, 1e-3, loss, rng, "d_x");
  }
}

// How training uses the pieces: matmul without activation, then activation_forward, and back
// through activation_backward and matmul_backward; checked against the fused forward.
TEST(ActivationBackward, ChainsWithMatmulBackwardToTheFusedForward) {
  std::mt19937 rng(23);
  const Shape s{5, 7, 9};
  for (Activation act : all_activations) {
    auto in = test::random_normal(s.M * s.K, rng), w = test::random_normal(s.N * s.K, rng, 0.5f), b = test::random_normal(s.N, rng);
    auto r = test::random_normal(s.M * s.N, rng);
    std::vector<float> pre(s.M * s.N), d_pre(s.M * s.N), d_in(s.M * s.K), d_w(s.N * s.K), d_b(s.N);
    matmul_forward(pre.data(), in.data(), w.data(), b.data(), s.M, s.K, s.N);
    activation_backward(d_pre.data(), r.data(), pre.data(), s.M * s.N, act);
    matmul_backward(d_in.data(), d_w.data(), d_b.data(), d_pre.data(), in.data(), w.data(), s.M, s.K, s.N);
    std::vector<float> out(s.M * s.N);
    auto loss = [&] {
      matmul_forward_scalar(out.data(), in.data(), w.data(), b.data(), s.M, s.K, s.N, act);
      return dot(out, r);
    };
    expect_matches_fd(d_in, in, 1e-3, loss, rng, "d_in");
    expect_matches_fd(d_w, w, 1e-3, loss, rng, "d_weight");
    expect_matches_fd(d_b, b, 1e-3, loss, rng, "d_bias");
  }
}

TEST(LayerNormBackward, MatchesScalarOnOddShapes) {
  std::mt19937 rng(31);
  for (int64_t C : {1, 7, 33, 64, 65, 384, 1000}) {
    for (int64_t N : {1, 13}) {
      auto x = test::random_normal(N * C, rng, 2.0f), w = test::random_normal(C, rng), bias = test::random_normal(C, rng);
      auto d_out = test::random_normal(N * C, rng);
      std::vector<float> out(N * C), mean(N), rstd(N);
      layer_norm_forward(out.data(), mean.data(), rstd.data(), x.data(), nullptr, w.data(), bias.data(), N, C, 1e-12f);
      auto dw_fast = test::random_normal(C, rng), db_fast = test::random_normal(C, rng);
      auto dw_ref = dw_fast, db_ref = db_fast;
      std::vector<float> di_fast(N * C, 3.0f), di_ref(N * C, -3.0f);
      layer_norm_backward(di_fast.data(), dw_fast.data(), db_fast.data(), d_out.data(), x.data(), mean.data(),
                          rstd.data(), w.data(), N, C);
      layer_norm_backward_scalar(di_ref.data(), dw_ref.data(), db_ref.data(), d_out.data(), x.data(), mean.data(),
                                 rstd.data(), w.data(), N, C);
      if (C > 1) {
        EXPECT_LT(rel_diff(di_fast, di_ref), 1e-5) << "N=" << N << " C=" << C;
      } else {
        // One column: x̂ ≡ 0 and d_in ≡ 0, but rstd = 1/sqrt(eps) magnifies the fp32 rounding of
        // d_out·w - mean(d_out·w), so the fast path is only zero up to rstd · ulp.
        for (int64_t i = 0; i < N; i++) {
          EXPECT_NEAR(di_fast[i], 0.0f, 1e-6f * rstd[i] * std::fabs(d_out[i] * w[0])) << "N=" << N << " row " << i;
        }
      }
      EXPECT_LT(rel_diff(dw_fast, dw_ref), 1e-5) << "N=" << N << " C=" << C;
      EXPECT_LT(rel_diff(db_fast, db_ref), 1e-5) << "N=" << N << " C=" << C;
      // In place on the incoming gradient.
      auto dw2 = dw_fast, db2 = db_fast;
      layer_norm_backward(d_out.data(), dw2.data(), db2.data(), d_out.data(), x.data(), mean.data(), rstd.data(),
                          w.data(), N, C);
      EXPECT_EQ(d_out, di_fast) << "N=" << N << " C=" << C;
    }
  }
}

TEST(LayerNormBackward, MatchesFiniteDifferencesThroughTheResidualSum) {
  std::mt19937 rng(32);
  struct NC {
    int64_t N, C;
  };
  for (NC s : {NC{3, 7}, NC{5, 65}}) {
    const int64_t N = s.N, C = s.C;
    auto a = test::random_normal(N * C, rng), b = test::random_normal(N * C, rng), w = test::random_normal(C, rng), bias = test::random_normal(C, rng);
    auto r = test::random_normal(N * C, rng);
    const float eps = 1e-5f;
    std::vector<float> out(N * C), mean(N), rstd(N), x(N * C);
    auto loss = [&] {
      layer_norm_forward_scalar(out.data(), nullptr, nullptr, a.data(), b.data(), w.data(), bias.data(), N, C, eps);
      return dot(out, r);
    };
    layer_norm_forward_scalar(out.data(), mean.data(), rstd.data(), a.data(), b.data(), w.data(), bias.data(), N, C, eps);
    for (int64_t i = 0; i < N * C; i++) x[i] = a[i] + b[i];
    std::vector<float> d_x(N * C), d_w(C), d_b(C);
    layer_norm_backward_scalar(d_x.data(), d_w.data(), d_b.data(), r.data(), x.data(), mean.data(), rstd.data(),
                               w.data(), N, C);
    expect_matches_fd(d_x, a, 1e-3, loss, rng, "d_a");
    expect_matches_fd(d_x, b, 1e-3, loss, rng, "d_b (residual)");
    expect_matches_fd(d_w, w, 1e-3, loss, rng, "d_w");
    expect_matches_fd(d_b, bias, 1e-3, loss, rng, "d_bias");
  }
}

TEST(LayerNormBackward, AccumulatesWeightGradsAndWritesInputGrad) {
  std::mt19937 rng(33);
  const int64_t N = 9, C = 65;
  auto x = test::random_normal(N * C, rng), w = test::random_normal(C, rng), bias = test::random_normal(C, rng), d_out = test::random_normal(N * C, rng);
  std::vector<float> out(N * C), mean(N), rstd(N), d_in(N * C, 5.0f), d_w(C), d_b(C);
  layer_norm_forward(out.data(), mean.data(), rstd.data(), x.data(), nullptr, w.data(), bias.data(), N, C, 1e-12f);
  layer_norm_backward(d_in.data(), d_w.data(), d_b.data(), d_out.data(), x.data(), mean.data(), rstd.data(), w.data(), N, C);
  const auto d_in_once = d_in, d_w_once = d_w, d_b_once = d_b;
  layer_norm_backward(d_in.data(), d_w.data(), d_b.data(), d_out.data(), x.data(), mean.data(), rstd.data(), w.data(), N, C);
  EXPECT_EQ(d_in, d_in_once);
  for (int64_t c = 0; c < C; c++) {
    EXPECT_FLOAT_EQ(d_w[c], 2 * d_w_once[c]) << c;
    EXPECT_FLOAT_EQ(d_b[c], 2 * d_b_once[c]) << c;
  }
}

// A packed batch with many repeated word, position and type ids.
struct EmbeddingBatch {
  int64_t vocab = 5, positions = 6, types = 2;
  std::vector<int32_t> ids, pos_ids, type_ids;
  EmbeddingBatch(int64_t N, std::mt19937& rng) {
    for (int64_t i = 0; i < N; i++) {
      ids.push_back(static_cast<int32_t>(rng() % (vocab - 1)));  // the last word never occurs
      pos_ids.push_back(static_cast<int32_t>(i % positions));
      type_ids.push_back(static_cast<int32_t>(rng() % types));
    }
  }
};

TEST(EmbeddingBackward, MatchesScalarBitForBitWithRepeatedIds) {
  std::mt19937 rng(41);
  for (int64_t H : {1, 7, 33, 65, 384}) {
    for (int variant = 0; variant < 3; variant++) {  // all tables; type_ids null; d_word frozen (null)
      const int64_t N = 50;
      EmbeddingBatch batch(N, rng);
      const int32_t* type_ids = variant == 1 ? nullptr : batch.type_ids.data();
      auto d_out = test::random_normal(N * H, rng);
      auto word_fast = test::random_normal(batch.vocab * H, rng), pos_fast = test::random_normal(batch.positions * H, rng),
           type_fast = test::random_normal(batch.types * H, rng);
      auto word_ref = word_fast, pos_ref = pos_fast, type_ref = type_fast;
      float* d_word_fast = variant == 2 ? nullptr : word_fast.data();
      float* d_word_ref = variant == 2 ? nullptr : word_ref.data();
      embedding_backward(d_word_fast, pos_fast.data(), type_fast.data(), d_out.data(), batch.ids.data(),
                         batch.pos_ids.data(), type_ids, N, H);
      embedding_backward_scalar(d_word_ref, pos_ref.data(), type_ref.data(), d_out.data(), batch.ids.data(),
                                batch.pos_ids.data(), type_ids, N, H);
      EXPECT_EQ(word_fast, word_ref) << "H=" << H << " variant " << variant;
      EXPECT_EQ(pos_fast, pos_ref) << "H=" << H << " variant " << variant;
      EXPECT_EQ(type_fast, type_ref) << "H=" << H << " variant " << variant;
    }
  }
}

TEST(EmbeddingBackward, MatchesFiniteDifferencesWithRepeatedIds) {
  std::mt19937 rng(42);
  const int64_t N = 9, H = 7;
  EmbeddingBatch batch(N, rng);
  auto word = test::random_normal(batch.vocab * H, rng), pos = test::random_normal(batch.positions * H, rng),
       type = test::random_normal(batch.types * H, rng), r = test::random_normal(N * H, rng);
  std::vector<float> out(N * H);
  auto loss = [&] {
    embedding_forward(out.data(), batch.ids.data(), batch.pos_ids.data(), batch.type_ids.data(), word.data(),
                      pos.data(), type.data(), N, H);
    return dot(out, r);
  };
  std::vector<float> d_word(word.size()), d_pos(pos.size()), d_type(type.size());
  embedding_backward_scalar(d_word.data(), d_pos.data(), d_type.data(), r.data(), batch.ids.data(),
                            batch.pos_ids.data(), batch.type_ids.data(), N, H);
  expect_matches_fd(d_word, word, 1e-2, loss, rng, "d_word");
  expect_matches_fd(d_pos, pos, 1e-2, loss, rng, "d_pos");
  expect_matches_fd(d_type, type, 1e-2, loss, rng, "d_type");
  // The word that never occurs gets no gradient.
  for (int64_t c = 0; c < H; c++) EXPECT_EQ(d_word[(batch.vocab - 1) * H + c], 0.0f);
}

TEST(EmbeddingBackward, Accumulates) {
  std::mt19937 rng(43);
  const int64_t N = 20, H = 33;
  EmbeddingBatch batch(N, rng);
  auto d_out = test::random_normal(N * H, rng);
  std::vector<float> d_word(batch.vocab * H), d_pos(batch.positions * H), d_type(batch.types * H);
  auto run = [&] {
    embedding_backward(d_word.data(), d_pos.data(), d_type.data(), d_out.data(), batch.ids.data(),
                       batch.pos_ids.data(), batch.type_ids.data(), N, H);
  };
  run();
  const auto word_once = d_word, pos_once = d_pos, type_once = d_type;
  run();
  // Token by token on top of the first sums, so equal to twice them only up to fp32 rounding.
  for (size_t i = 0; i < d_word.size(); i++) EXPECT_NEAR(d_word[i], 2 * word_once[i], 1e-5f) << i;
  for (size_t i = 0; i < d_pos.size(); i++) EXPECT_NEAR(d_pos[i], 2 * pos_once[i], 1e-5f) << i;
  for (size_t i = 0; i < d_type.size(); i++) EXPECT_NEAR(d_type[i], 2 * type_once[i], 1e-5f) << i;
}

}  // namespace
}  // namespace embtune
