// Each fast kernel against its scalar twin on random shapes, odd sizes included.
// Not end-to-end parity with PyTorch (test_bert_parity.cpp does that).
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <random>
#include <vector>

#include "ops/attention.h"
#include "ops/bf16.h"
#include "ops/embedding.h"
#include "ops/layer_norm.h"
#include "ops/matmul.h"
#include "ops/pooling.h"
#include "test_util.h"

namespace embtune {
namespace {

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float m = 0;
  for (size_t i = 0; i < a.size(); i++) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

TEST(Matmul, MatchesScalarOnOddShapes) {
  std::mt19937 rng(1);
  struct Shape { int64_t M, K, N; };
  for (Shape s : {Shape{1, 1, 1}, Shape{3, 7, 5}, Shape{17, 33, 65}, Shape{129, 384, 97}, Shape{64, 1536, 384}}) {
    for (Activation act : {Activation::None, Activation::Gelu, Activation::Tanh, Activation::Relu, Activation::Sigmoid}) {
      for (bool bias : {false, true}) {
        auto in = test::random_normal(s.M * s.K, rng), w = test::random_normal(s.N * s.K, rng, 0.05f), b = test::random_normal(s.N, rng);
        std::vector<float> fast(s.M * s.N), ref(s.M * s.N);
        matmul_forward(fast.data(), in.data(), w.data(), bias ? b.data() : nullptr, s.M, s.K, s.N, act);
        matmul_forward_scalar(ref.data(), in.data(), w.data(), bias ? b.data() : nullptr, s.M, s.K, s.N, act);
        EXPECT_LT(max_abs_diff(fast, ref), 2e-5f) << s.M << "x" << s.K << "x" << s.N << " act " << int(act);
      }
    }
  }
}

TEST(Activation, StandaloneMatchesScalar) {
  std::mt19937 rng(2);
  for (Activation act : {Activation::Gelu, Activation::Tanh, Activation::Relu, Activation::Sigmoid}) {
    auto x = test::random_normal(1001, rng, 3.0f), y = x;
    activation_forward(x.data(), 1001, act);
    activation_forward_scalar(y.data(), 1001, act);
    EXPECT_LT(max_abs_diff(x, y), 1e-6f) << int(act);
  }
}

// The bf16 path's GELU: within bf16's half ulp (2^-8 relative) plus the kernel's 1e-7 · max(1, |x|)
// of the exact erf form everywhere; and where the output is not tiny (|GELU| ≥ 1e-3, so the
// kernel's absolute error is small against the bf16 spacing) the correctly rounded bf16 but for
// a rare neighbour at a rounding boundary. (For x below about −5, GELU is below 1e-6 and
// 1 + erf cancels: there only the absolute bound holds, which is all a product input needs.)
TEST(Activation, GeluToBf16IsTheRoundedExactGelu) {
  std::vector<float> x;
  for (float v = -12.0f; v <= 12.0f; v += 0.00097f) x.push_back(v);
  for (float v : {0.0f, -0.0f, 1e-30f, -1e-30f, 30.0f, -30.0f, 1e4f, -1e4f}) x.push_back(v);
  std::vector<uint16_t> y(x.size());
  gelu_forward_bf16(y.data(), x.data(), static_cast<int64_t>(x.size()));
  auto as_float = [](uint16_t b) { return std::bit_cast<float>(static_cast<uint32_t>(b) << 16); };
  size_t checked = 0, neighbours = 0;
  for (size_t i = 0; i < x.size(); i++) {
    const double v = x[i], exact = 0.5 * v * (1.0 + std::erf(v / std::sqrt(2.0)));
    const double got = as_float(y[i]);
    EXPECT_LE(std::fabs(got - exact), std::fabs(exact) * 0x1p-8 + 2e-7 * std::max(1.0, std::fabs(v))) << x[i];
    if (std::fabs(exact) < 1e-3) continue;
    checked++;
    const uint16_t want = bf16_round(static_cast<float>(exact));
    if (y[i] != want) {
      neighbours++;
      EXPECT_EQ(std::abs(static_cast<int>(y[i]) - static_cast<int>(want)), 1) << x[i];
    }
  }
  EXPECT_GT(checked, x.size() / 2);
  EXPECT_LT(neighbours, checked / 1000) << neighbours << " of " << checked;
}

TEST(LayerNorm, MatchesScalarWithAndWithoutResidual) {
  std::mt19937 rng(3);
  for (int64_t C : {1, 7, 64, 384, 1000}) {
    const int64_t N = 13;
    auto a = test::random_normal(N * C, rng, 2.0f), b = test::random_normal(N * C, rng), w = test::random_normal(C, rng), bias = test::random_normal(C, rng);
    for (bool res : {false, true}) {
      std::vector<float> fast(N * C), ref(N * C), m1(N), r1(N), m2(N), r2(N);
      layer_norm_forward(fast.data(), m1.data(), r1.data(), a.data(), res ? b.data() : nullptr, w.data(), bias.data(), N, C, 1e-12f);
      layer_norm_forward_scalar(ref.data(), m2.data(), r2.data(), a.data(), res ? b.data() : nullptr, w.data(), bias.data(), N, C, 1e-12f);
      EXPECT_LT(max_abs_diff(fast, ref), 2e-5f) << "C=" << C;
      EXPECT_LT(max_abs_diff(m1, m2), 1e-5f);
      if (C > 1) {  // with one column the variance is 0 and rstd is 1/sqrt(eps)
        for (int64_t i = 0; i < N; i++) EXPECT_NEAR(r1[i], r2[i], 1e-5f * r2[i]) << "C=" << C;
      }
    }
    // In place on the residual stream, as the encoder uses it.
    std::vector<float> x = a, ref(N * C);
    layer_norm_forward_scalar(ref.data(), nullptr, nullptr, b.data(), a.data(), w.data(), bias.data(), N, C, 1e-12f);
    layer_norm_forward(x.data(), nullptr, nullptr, b.data(), x.data(), w.data(), bias.data(), N, C, 1e-12f);
    EXPECT_LT(max_abs_diff(x, ref), 2e-5f);
  }
}

TEST(Exp, MatchesStdExpToAFewUlp) {
  std::vector<float> x, y;
  for (float v = -87.0f; v <= 88.0f; v += 0.0137f) x.push_back(v);
  y = x;
  exp_inplace(y.data(), static_cast<int64_t>(y.size()));
  for (size_t i = 0; i < x.size(); i++) {
    double ref = std::exp(static_cast<double>(x[i]));
    EXPECT_LE(std::fabs(y[i] - ref) / ref, 4e-7) << x[i];
  }
  std::vector<float> tiny{-88.0f, -100.0f, -INFINITY};
  exp_inplace(tiny.data(), 3);
  for (float t : tiny) EXPECT_EQ(t, 0.0f);
}

TEST(Attention, MatchesScalarOnRaggedSequences) {
  std::mt19937 rng(4);
  for (auto [H, heads] : {std::pair<int64_t, int64_t>{8, 1}, {64, 4}, {384, 12}, {36, 3}}) {
    std::vector<int32_t> cu{0};
    for (int len : {1, 2, 7, 31, 64, 130}) cu.push_back(cu.back() + len);
    const int64_t N = cu.back(), S = static_cast<int64_t>(cu.size()) - 1;
    auto q = test::random_normal(N * H, rng), k = test::random_normal(N * H, rng), v = test::random_normal(N * H, rng);
    std::vector<float> fast(N * H), ref(N * H);
    attention_forward(fast.data(), q.data(), k.data(), v.data(), cu.data(), S, H, heads);
    attention_forward_scalar(ref.data(), q.data(), k.data(), v.data(), cu.data(), S, H, heads);
    EXPECT_LT(max_abs_diff(fast, ref), 2e-6f) << "H=" << H;
  }
}

TEST(Attention, SequencesDoNotSeeEachOther) {
  // Changing the second sequence must not change the first one's output.
  std::mt19937 rng(5);
  const int64_t H = 16, heads = 2;
  std::vector<int32_t> cu{0, 5, 12};
  auto q = test::random_normal(12 * H, rng), k = test::random_normal(12 * H, rng), v = test::random_normal(12 * H, rng);
  std::vector<float> a(12 * H), b(12 * H);
  attention_forward(a.data(), q.data(), k.data(), v.data(), cu.data(), 2, H, heads);
  for (int64_t i = 5 * H; i < 12 * H; i++) k[i] += 1.0f, v[i] -= 2.0f;
  attention_forward(b.data(), q.data(), k.data(), v.data(), cu.data(), 2, H, heads);
  for (int64_t i = 0; i < 5 * H; i++) EXPECT_EQ(a[i], b[i]);
  bool changed = false;
  for (int64_t i = 5 * H; i < 12 * H; i++) changed |= a[i] != b[i];
  EXPECT_TRUE(changed);
}

TEST(Pooling, AllModesMatchScalarWithPromptSkip) {
  std::mt19937 rng(6);
  const int64_t H = 19;
  std::vector<int32_t> cu{0, 1, 4, 20, 21};
  std::vector<int32_t> skip{0, 2, 5, 3};  // the last one skips past its end: pools to zeros
  auto x = test::random_normal(21 * H, rng);
  for (PoolingMode m : {PoolingMode::Cls, PoolingMode::Mean, PoolingMode::Max, PoolingMode::MeanSqrtLen, PoolingMode::LastToken}) {
    for (bool use_skip : {false, true}) {
      std::vector<float> fast(4 * H), ref(4 * H);
      pooling_forward(fast.data(), H, x.data(), cu.data(), use_skip ? skip.data() : nullptr, 4, H, m);
      pooling_forward_scalar(ref.data(), H, x.data(), cu.data(), use_skip ? skip.data() : nullptr, 4, H, m);
      EXPECT_LT(max_abs_diff(fast, ref), 1e-6f) << int(m);
    }
  }
  // Mean of one token is that token; CLS is the first row.
  std::vector<float> out(4 * H);
  pooling_forward(out.data(), H, x.data(), cu.data(), nullptr, 4, H, PoolingMode::Mean);
  for (int64_t c = 0; c < H; c++) EXPECT_FLOAT_EQ(out[c], x[c]);
}

TEST(Normalize, UnitLengthAndZeroSafe) {
  std::vector<float> x{3, 4, 0, 0, 0, 0};
  l2_normalize_forward(x.data(), 2, 3);
  EXPECT_FLOAT_EQ(x[0], 0.6f);
  EXPECT_FLOAT_EQ(x[1], 0.8f);
  EXPECT_EQ(x[3], 0.0f);
}

TEST(Embedding, SumsThreeTables) {
  const int64_t H = 3;
  std::vector<float> word{1, 2, 3, 10, 20, 30}, pos{100, 200, 300, 400, 500, 600}, type{0.5f, 0.5f, 0.5f, 7, 7, 7};
  std::vector<int32_t> ids{1, 0}, p{0, 1}, t{1, 0};
  std::vector<float> out(6);
  embedding_forward(out.data(), ids.data(), p.data(), t.data(), word.data(), pos.data(), type.data(), 2, H);
  EXPECT_EQ(out, (std::vector<float>{117, 227, 337, 401.5f, 502.5f, 603.5f}));
}

}  // namespace
}  // namespace embtune
