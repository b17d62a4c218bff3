// bf16 mixed precision: the rounding, the bf16 matmuls against fp32 products of the rounded
// inputs, and bf16 training against fp32 training of the same run (loss, embeddings, neighbours,
// held-out nDCG@10).
// Not speed (bench/run_train_bench.sh) and not the fp32 parity with PyTorch (test_train_parity).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <omp.h>
#include <random>
#include <set>

#include "io/npy.h"
#include "model/bert.h"
#include "ops/attention.h"
#include "ops/bf16.h"
#include "ops/matmul.h"
#include "test_util.h"

namespace embtune {
namespace {

float bits_to_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

std::vector<float> rounded(const std::vector<float>& x) {
  std::vector<uint16_t> b(x.size());
  round_to_bf16(b.data(), x.data(), static_cast<int64_t>(x.size()));
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); i++) y[i] = bits_to_float(static_cast<uint32_t>(b[i]) << 16);
  return y;
}

TEST(Bf16, RoundToNearestEven) {
  // 1 + 2^-8 lies halfway between bf16 neighbours 1 and 1 + 2^-7: ties go to the even one (1);
  // 1 + 3·2^-8 is halfway between 1 + 2^-7 and 1 + 2^-6: to the even 1 + 2^-6.
  const std::vector<float> x = {1.0f + 1.0f / 256, 1.0f + 3.0f / 256, 1.0f + 1.0f / 256 + 1.0f / 65536, -2.5f,
                                INFINITY, -INFINITY, 0.0f, -0.0f, 3.0e38f, 3.4028235e38f};
  const std::vector<float> want = {1.0f, 1.0f + 1.0f / 64, 1.0f + 1.0f / 128, -2.5f, INFINITY, -INFINITY, 0.0f, -0.0f,
                                   bits_to_float(0x7f62u << 16), INFINITY};
  const std::vector<float> got = rounded(x);
  for (size_t i = 0; i < x.size(); i++) EXPECT_EQ(got[i], want[i]) << i;
  EXPECT_TRUE(std::signbit(got[7]));
  // (3e38 is 0x7f61b1e6: its low half is above the tie, so it rounds up; FLT_MAX overflows to
  // infinity, as the hardware conversion does.)
  EXPECT_TRUE(std::isnan(rounded({NAN})[0]));
  EXPECT_TRUE(std::isnan(rounded({bits_to_float(0x7f800001u)})[0])) << "a NaN whose payload is in the low bits";
}

TEST(Bf16, MatmulsEqualFp32ProductsOfTheRoundedInputs) {
  if (!cpu_has_native_bf16()) GTEST_SKIP() << "no native bf16 on this CPU";
  std::mt19937 rng(7);
  struct Shape {
    int64_t M, K, N;
  };
  for (Shape s : {Shape{1, 1, 1}, Shape{17, 33, 65}, Shape{129, 384, 97}, Shape{64, 1536, 384}}) {
    const std::vector<float> in = test::random_normal(s.M * s.K, rng), w = test::random_normal(s.N * s.K, rng, 0.05f),
                             b = test::random_normal(s.N, rng), d_out = test::random_normal(s.M * s.N, rng);
    // Only the inputs are rounded; the products accumulate in fp32, so the bf16 result must be
    // the fp32 (here: double) product of the rounded inputs up to fp32 accumulation error.
    const std::vector<float> in_r = rounded(in), w_r = rounded(w), d_out_r = rounded(d_out);
    std::vector<float> got(s.M * s.N), want(s.M * s.N);
    matmul_forward(got.data(), in.data(), w.data(), b.data(), s.M, s.K, s.N, Activation::Gelu, Precision::Bf16);
    matmul_forward_scalar(want.data(), in_r.data(), w_r.data(), b.data(), s.M, s.K, s.N, Activation::Gelu);
    const double tol = 1e-5 * std::sqrt(static_cast<double>(s.K));
    for (size_t i = 0; i < got.size(); i++) ASSERT_NEAR(got[i], want[i], tol * std::max(1.0f, std::fabs(want[i]))) << i;

    std::vector<float> d_in(s.M * s.K), d_w(s.N * s.K, 0.5f), d_b(s.N, 0.25f);
    std::vector<float> d_in_want(s.M * s.K), d_w_want(s.N * s.K, 0.5f), d_b_want(s.N, 0.25f);
    matmul_backward(d_in.data(), d_w.data(), d_b.data(), d_out.data(), in.data(), w.data(), s.M, s.K, s.N, Precision::Bf16);
    matmul_backward_scalar(d_in_want.data(), d_w_want.data(), nullptr, d_out_r.data(), in_r.data(), w_r.data(), s.M, s.K, s.N);
    matmul_backward_scalar(nullptr, std::vector<float>(s.N * s.K).data(), d_b_want.data(), d_out.data(), in.data(),
                           w.data(), s.M, s.K, s.N);  // the bias gradient sums the fp32 d_out
    const double tol_m = 1e-5 * std::sqrt(static_cast<double>(s.M)), tol_n = 1e-5 * std::sqrt(static_cast<double>(s.N));
    for (size_t i = 0; i < d_in.size(); i++) ASSERT_NEAR(d_in[i], d_in_want[i], tol_n * std::max(1.0f, std::fabs(d_in_want[i])));
    for (size_t i = 0; i < d_w.size(); i++) ASSERT_NEAR(d_w[i], d_w_want[i], tol_m * std::max(1.0f, std::fabs(d_w_want[i])));
    for (size_t i = 0; i < d_b.size(); i++) ASSERT_NEAR(d_b[i], d_b_want[i], tol_m * std::max(1.0f, std::fabs(d_b_want[i])));
  }
}

// bf16 attention rounds q, k, v and then the probabilities (and, backward, d_out, P and dS) for
// its products: against the double reference on the rounded q, k, v, d_out, what is left is the
// rounding of P and dS (relative 2^-9 per element), so the results agree to about 1% of their
// largest magnitude, with and without probability dropout, on ragged lengths and head sizes 32
// and 12.
TEST(Bf16, AttentionIsCloseToTheReferenceOnRoundedInputs) {
  if (!cpu_has_native_bf16()) GTEST_SKIP() << "no native bf16 on this CPU";
  std::mt19937 rng(9);
  std::vector<int32_t> cu{0};
  for (int len : {1, 2, 7, 31, 64, 130}) cu.push_back(cu.back() + len);
  const int64_t S = static_cast<int64_t>(cu.size()) - 1, N = cu.back();
  auto rel = [](const std::vector<float>& a, const std::vector<float>& b) {
    double diff = 0, scale = 1e-30;
    for (size_t i = 0; i < a.size(); i++) {
      diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - b[i]));
      scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
    }
    return diff / scale;
  };
  for (auto [H, heads] : {std::pair<int64_t, int64_t>{384, 12}, {36, 3}}) {
    for (float p : {0.0f, 0.2f}) {
      const DropoutMask m = p > 0 ? dropout_mask(p, 5, 2) : DropoutMask{};
      const auto q = test::random_normal(N * H, rng), k = test::random_normal(N * H, rng);
      const auto v = test::random_normal(N * H, rng), d_out = test::random_normal(N * H, rng);
      std::vector<float> got(N * H), want(N * H);
      attention_forward(got.data(), q.data(), k.data(), v.data(), cu.data(), S, H, heads, m, Precision::Bf16);
      attention_forward_scalar(want.data(), rounded(q).data(), rounded(k).data(), rounded(v).data(), cu.data(), S, H,
                               heads, m);
      EXPECT_LT(rel(got, want), 1e-2) << "forward H=" << H << " p " << p;
      std::vector<float> dq(N * H), dk(N * H), dv(N * H), dq_r(N * H), dk_r(N * H), dv_r(N * H);
      attention_backward(dq.data(), dk.data(), dv.data(), d_out.data(), q.data(), k.data(), v.data(), cu.data(), S, H,
                         heads, m, Precision::Bf16);
      attention_backward_scalar(dq_r.data(), dk_r.data(), dv_r.data(), rounded(d_out).data(), rounded(q).data(),
                                rounded(k).data(), rounded(v).data(), cu.data(), S, H, heads, m);
      EXPECT_LT(rel(dq, dq_r), 2e-2) << "d_q H=" << H << " p " << p;
      EXPECT_LT(rel(dk, dk_r), 2e-2) << "d_k H=" << H << " p " << p;
      EXPECT_LT(rel(dv, dv_r), 2e-2) << "d_v H=" << H << " p " << p;
      std::printf("bf16 attention H=%lld p %.1f: relative error out %.2g d_q %.2g d_k %.2g d_v %.2g\n",
                  static_cast<long long>(H), p, rel(got, want), rel(dq, dq_r), rel(dk, dk_r), rel(dv, dv_r));
    }
  }
}

std::vector<uint16_t> patterns(const std::vector<float>& x) {
  std::vector<uint16_t> b(x.size());
  round_to_bf16(b.data(), x.data(), static_cast<int64_t>(x.size()));
  return b;
}

// The products that write bf16 (BertModel's q, k, v, its inference GELU output, and the
// gradients only bf16 products read) give the rounding of what the fp32-output products give:
// the same product, only the destination type differs, so at most an accumulation-order
// difference may move a rare value by one bf16 step. With d_out already rounded, the backward
// is the fp32-output backward bit for bit (the same primitives on the same bf16 inputs).
TEST(Bf16, ProductsWritingBf16RoundTheFp32Products) {
  if (!cpu_has_native_bf16()) GTEST_SKIP() << "no native bf16 on this CPU";
  std::mt19937 rng(11);
  struct Shape {
    int64_t M, K, N;
  };
  for (Shape s : {Shape{1, 1, 1}, Shape{17, 33, 65}, Shape{129, 384, 97}, Shape{300, 384, 1152}}) {
    const std::vector<float> in = test::random_normal(s.M * s.K, rng), w = test::random_normal(s.N * s.K, rng, 0.05f),
                             b = test::random_normal(s.N, rng), d_out = test::random_normal(s.M * s.N, rng);
    const std::vector<uint16_t> in16 = patterns(in), d_out16 = patterns(d_out);
    // Within one bf16 step (2^-8 relative) of the fp32 result, and mostly its exact rounding.
    auto expect_rounding = [&](const std::vector<uint16_t>& got16, const std::vector<float>& want, const char* what) {
      size_t exact = 0;
      for (size_t i = 0; i < want.size(); i++) {
        exact += got16[i] == patterns({want[i]})[0];
        ASSERT_NEAR(bf16_to_float(got16[i]), want[i], std::fabs(want[i]) / 256 + 1e-6) << what << " " << i;
      }
      EXPECT_GE(exact, want.size() * 95 / 100) << what << ": " << exact << " of " << want.size() << " exactly rounded";
    };
    for (Activation act : {Activation::None, Activation::Gelu}) {
      std::vector<float> out(s.M * s.N);
      std::vector<uint16_t> out16(s.M * s.N);
      matmul_forward_bf16(out.data(), in16.data(), w.data(), b.data(), s.M, s.K, s.N, act);
      matmul_forward_bf16(out16.data(), in16.data(), w.data(), b.data(), s.M, s.K, s.N, act);
      expect_rounding(out16, out, act == Activation::Gelu ? "forward + GELU" : "forward");
    }
    std::vector<float> d_in(s.M * s.K), d_w(s.N * s.K, 0.5f), d_b(s.N, 0.25f);
    std::vector<float> d_w2(s.N * s.K, 0.5f), d_b2(s.N, 0.25f), d_in3(s.M * s.K), d_w3(s.N * s.K, 0.5f);
    std::vector<uint16_t> d_in16(s.M * s.K);
    matmul_backward_bf16(d_in.data(), d_w.data(), d_b.data(), d_out.data(), in16.data(), w.data(), s.M, s.K, s.N);
    matmul_backward_bf16(d_in16.data(), d_w2.data(), d_b2.data(), d_out.data(), in16.data(), w.data(), s.M, s.K, s.N);
    expect_rounding(d_in16, d_in, "d_in");
    EXPECT_EQ(d_w2, d_w);
    EXPECT_EQ(d_b2, d_b);
    matmul_backward_bf16_rounded(d_in3.data(), d_w3.data(), d_out16.data(), in16.data(), w.data(), s.M, s.K, s.N);
    EXPECT_EQ(d_in3, d_in);
    EXPECT_EQ(d_w3, d_w);
  }
}

// attention_forward_bf16 / attention_backward_bf16 read q, k, v (and d_out) as bf16 patterns and
// write their outputs rounded: the same arithmetic as the fp32-input entry in Precision::Bf16 on
// the values those patterns hold, bit for bit, with and without probability dropout; the
// backward's bias sums those of the fp32 gradients, the same bits whatever the thread count.
TEST(Bf16, AttentionOnBf16PatternsIsTheFp32EntryBitForBit) {
  if (!cpu_has_native_bf16()) GTEST_SKIP() << "no native bf16 on this CPU";
  std::mt19937 rng(13);
  std::vector<int32_t> cu{0};
  for (int len : {1, 9, 64, 130, 3}) cu.push_back(cu.back() + len);
  const int64_t S = static_cast<int64_t>(cu.size()) - 1, N = cu.back(), H = 96, heads = 3;
  for (float p : {0.0f, 0.1f}) {
    const DropoutMask m = p > 0 ? dropout_mask(p, 3, 4) : DropoutMask{};
    const std::vector<uint16_t> qkv16 = patterns(test::random_normal(N * 3 * H, rng));
    const std::vector<uint16_t> d_out16 = patterns(test::random_normal(N * H, rng));
    std::vector<float> qkv(N * 3 * H), d_out(N * H);
    for (size_t i = 0; i < qkv.size(); i++) qkv[i] = bf16_to_float(qkv16[i]);
    for (size_t i = 0; i < d_out.size(); i++) d_out[i] = bf16_to_float(d_out16[i]);
    std::vector<float> out(N * H);
    std::vector<uint16_t> out16(N * H);
    attention_forward(out.data(), qkv.data(), qkv.data() + H, qkv.data() + 2 * H, cu.data(), S, H, heads, m,
                      Precision::Bf16, 3 * H);
    attention_forward_bf16(out16.data(), qkv16.data(), cu.data(), S, H, heads, m);
    EXPECT_EQ(out16, patterns(out)) << "p " << p;
    std::vector<float> d_qkv(N * 3 * H, NAN);
    attention_backward(d_qkv.data(), d_qkv.data() + H, d_qkv.data() + 2 * H, d_out.data(), qkv.data(),
                       qkv.data() + H, qkv.data() + 2 * H, cu.data(), S, H, heads, m, Precision::Bf16, 3 * H);
    std::vector<uint16_t> d_qkv16(N * 3 * H);
    std::vector<float> d_bias(3 * H, 0.5f);
    attention_backward_bf16(d_qkv16.data(), d_bias.data(), d_out16.data(), qkv16.data(), cu.data(), S, H, heads, m);
    EXPECT_EQ(d_qkv16, patterns(d_qkv)) << "p " << p;
    // The bias gradient: 0.5 + the column sums of the fp32 d_q | d_k | d_v.
    for (int64_t c = 0; c < 3 * H; c++) {
      double want = 0.5;
      for (int64_t t = 0; t < N; t++) want += d_qkv[t * 3 * H + c];
      ASSERT_NEAR(d_bias[c], want, 1e-5 * std::max(1.0, std::fabs(want))) << "p " << p << " column " << c;
    }
    // The same bits on one thread.
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    std::vector<uint16_t> one16(N * 3 * H);
    std::vector<float> one_bias(3 * H, 0.5f);
    attention_backward_bf16(one16.data(), one_bias.data(), d_out16.data(), qkv16.data(), cu.data(), S, H, heads, m);
    omp_set_num_threads(threads);
    EXPECT_EQ(one16, d_qkv16);
    EXPECT_EQ(one_bias, d_bias);
  }
}

// The fused GELU backward of the bf16 path: g = d_y · GELU'(x) rounded, and the bias gradient
// summing the fp32 g, against the double reference (activation_backward_scalar) to 2e-7 per
// element before rounding; the sums the same bits whatever the thread count; the bf16-input
// overloads (and gelu_forward_bf16's) the fp32 ones on the values the patterns hold.
TEST(Bf16, GeluBackwardFusedWithTheBiasSum) {
  std::mt19937 rng(17);
  const int64_t M = 300, N = 200;  // several 64-row chunks and a partial one
  const std::vector<float> x = test::random_normal(M * N, rng, 2.0f), d_y = test::random_normal(M * N, rng);
  std::vector<float> g_want(M * N);
  activation_backward_scalar(g_want.data(), d_y.data(), x.data(), M * N, Activation::Gelu);
  std::vector<double> b_want(N, 0.25);
  for (int64_t m = 0; m < M; m++)
    for (int64_t n = 0; n < N; n++) b_want[n] += g_want[m * N + n];
  std::vector<uint16_t> g16(M * N);
  std::vector<float> d_b(N, 0.25f);
  gelu_backward_bias_bf16(g16.data(), d_b.data(), d_y.data(), x.data(), M, N);
  for (int64_t i = 0; i < M * N; i++)
    ASSERT_NEAR(bf16_to_float(g16[i]), g_want[i], std::fabs(g_want[i]) / 256 + 2e-7 * std::max(1.0f, std::fabs(x[i]))) << i;
  for (int64_t n = 0; n < N; n++) EXPECT_NEAR(d_b[n], b_want[n], 1e-4 * std::max(1.0, std::fabs(b_want[n]))) << n;
  // The same sums, bit for bit, on one thread.
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  std::vector<uint16_t> g16_one(M * N);
  std::vector<float> d_b_one(N, 0.25f);
  gelu_backward_bias_bf16(g16_one.data(), d_b_one.data(), d_y.data(), x.data(), M, N);
  omp_set_num_threads(threads);
  EXPECT_EQ(d_b_one, d_b);
  EXPECT_EQ(g16_one, g16);
  // bf16 inputs: the fp32 overload on the values they hold; in place (d_x16 = d_y16) too.
  std::vector<uint16_t> x16 = patterns(x), d_y16 = patterns(d_y);
  std::vector<float> x_r(M * N), d_y_r(M * N);
  for (int64_t i = 0; i < M * N; i++) x_r[i] = bf16_to_float(x16[i]), d_y_r[i] = bf16_to_float(d_y16[i]);
  std::vector<uint16_t> want16(M * N);
  std::vector<float> want_b(N, 0.0f), got_b(N, 0.0f);
  gelu_backward_bias_bf16(want16.data(), want_b.data(), d_y_r.data(), x_r.data(), M, N);
  gelu_backward_bias_bf16(d_y16.data(), got_b.data(), d_y16.data(), x16.data(), M, N);
  EXPECT_EQ(d_y16, want16);
  EXPECT_EQ(got_b, want_b);
  std::vector<uint16_t> y16(M * N), y16_want(M * N);
  gelu_forward_bf16(y16.data(), x16.data(), M * N);
  gelu_forward_bf16(y16_want.data(), x_r.data(), M * N);
  EXPECT_EQ(y16, y16_want);
}

// The bf16 forward (inference, and the training forward without dropout) against fp32 on a
// random 2-layer model: hidden states within 3% of their largest magnitude, and the two bf16
// forwards, which round at the same places, identical.
TEST(Bf16, ForwardIsCloseToFp32) {
  if (!cpu_has_native_bf16()) GTEST_SKIP() << "no native bf16 on this CPU";
  BertConfig c;
  c.vocab_size = 500;
  c.hidden_size = 64;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.intermediate_size = 128;
  BertModel m;
  m.init_random(c, 3);
  PackedBatch b;
  std::mt19937 rng(4);
  for (int len : {1, 5, 17, 40}) {
    std::vector<int32_t> ids(len);
    for (auto& id : ids) id = static_cast<int32_t>(rng() % 500);
    b.add(ids);
  }
  const int64_t n = b.num_tokens() * c.hidden_size;
  std::vector<float> f32(n), b16(n);
  m.forward(f32.data(), b);
  m.set_precision(Precision::Bf16);
  m.forward(b16.data(), b);
  BertActivations acts;
  m.forward_train(&acts, b);
  // Inference and training round at the same places and run the same GELU (gelu_forward_bf16 on
  // the rounded pre-activation): the two forwards may differ only by the products' accumulation
  // order (training and inference may meet different cached primitives) — far below bf16's own error.
  double diff = 0, train_diff = 0, scale = 0;
  for (int64_t i = 0; i < n; i++) {
    diff = std::max(diff, std::fabs(static_cast<double>(f32[i]) - b16[i]));
    train_diff = std::max(train_diff, std::fabs(static_cast<double>(acts.hidden()[i]) - b16[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(f32[i])));
  }
  EXPECT_LT(diff / scale, 3e-2);
  EXPECT_LT(train_diff / scale, 3e-3);
  std::printf("bf16 forward: max difference to fp32 %.3g, training forward to inference %.3g, of the largest magnitude %.3g\n",
              diff / scale, train_diff / scale, scale);
}

TEST(Bf16, TrainingStaysCloseToFp32) {
  if (!cpu_has_native_bf16()) GTEST_SKIP() << "no native bf16 on this CPU";
  test::TempDir tmp;
  const std::vector<std::string> words = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta",
                                          "iota", "kappa", "lambda", "mu", "nu", "xi", "omicron", "pi"};
  ASSERT_EQ(test::make_tiny_word_model(tmp.file("base"), words), "");
  std::mt19937 rng(11);
  auto phrase = [&](int n) {
    std::string s;
    for (int i = 0; i < n; i++) s += (i ? " " : "") + words[rng() % words.size()];
    return s;
  };
  std::string rows, held_out;
  for (int i = 0; i < 64; i++) {
    const std::string a = phrase(3) + " " + std::to_string(i % 10);
    rows += nlohmann::json({{"anchor", a}, {"positive", a + " " + phrase(4)}}).dump() + "\n";
  }
  std::string held_out_pairs;
  for (int i = 0; i < 40; i++) held_out += phrase(2 + i % 5) + "\n";
  for (int i = 0; i < 40; i++) {
    const std::string a = phrase(3) + " " + std::to_string(i % 10);
    held_out_pairs += nlohmann::json({{"anchor", a}, {"positive", a + " " + phrase(4)}}).dump() + "\n";
  }
  test::write_text(tmp.file("held_out_pairs.jsonl"), held_out_pairs);
  std::vector<double> ndcg(2);
  test::write_text(tmp.file("train.jsonl"), rows);
  test::write_text(tmp.file("held_out.txt"), held_out);
  const std::string bin = test::sh_quote(test::embtune_bin());
  std::vector<std::vector<float>> emb(2);
  std::vector<double> final_loss(2);
  const char* precisions[] = {"fp32", "bf16"};
  for (int p = 0; p < 2; p++) {
    const std::string out = tmp.file(std::string("tuned-") + precisions[p]);
    auto r = test::run_command(bin + " train --model " + test::sh_quote(tmp.file("base")) + " --train " +
                               test::sh_quote(tmp.file("train.jsonl")) + " --out " + test::sh_quote(out) +
                               " --max-steps 200 --batch-size 16 --lr 2e-4 --warmup 0.1 --seed 1 --quiet --precision " +
                               precisions[p]);
    ASSERT_EQ(r.exit_code, 0) << r.out;
    // The final loss as the mean of the last 20 steps: one step's loss depends on its batch.
    const std::string log = test::read_text(out + "/training_log.jsonl");
    std::vector<double> losses;
    for (size_t pos = 0; pos < log.size(); pos = log.find('\n', pos) + 1)
      losses.push_back(nlohmann::json::parse(log.substr(pos, log.find('\n', pos) - pos))["loss"].get<double>());
    ASSERT_EQ(losses.size(), 200u);
    for (size_t i = 180; i < 200; i++) final_loss[p] += losses[i] / 20;
    r = test::run_command(bin + " embed --model " + test::sh_quote(out) + " --input " + test::sh_quote(tmp.file("held_out.txt")) +
                          " --output " + test::sh_quote(out + ".npy") + " --quiet");
    ASSERT_EQ(r.exit_code, 0) << r.out;
    int64_t rows = 0, cols = 0;
    ASSERT_TRUE(npy_read_f32(out + ".npy", &emb[p], &rows, &cols).ok());
    r = test::run_command(bin + " eval --pairs " + test::sh_quote(tmp.file("held_out_pairs.jsonl")) + " --model " +
                          test::sh_quote(out) + " --no-cache --json --quiet");
    ASSERT_EQ(r.exit_code, 0) << r.out;
    ndcg[p] = test::last_json_line(r.out)["ndcg@10"].get<double>();
  }
  const int64_t n = 40, d = static_cast<int64_t>(emb[0].size()) / n;
  double cos_sum = 0;
  for (int64_t i = 0; i < n; i++) {
    double ab = 0, aa = 0, bb = 0;
    for (int64_t c = 0; c < d; c++) {
      ab += emb[0][i * d + c] * emb[1][i * d + c];
      aa += emb[0][i * d + c] * emb[0][i * d + c];
      bb += emb[1][i * d + c] * emb[1][i * d + c];
    }
    cos_sum += ab / std::sqrt(aa * bb);
  }
  // Top-10 neighbours of each held-out text under either model: the share that both lists hold.
  auto top10 = [&](const std::vector<float>& e, int64_t i) {
    std::vector<std::pair<double, int64_t>> s;
    for (int64_t j = 0; j < n; j++) {
      if (j == i) continue;
      double dot = 0;
      for (int64_t c = 0; c < d; c++) dot += e[i * d + c] * e[j * d + c];
      s.push_back({-dot, j});
    }
    std::sort(s.begin(), s.end());
    std::set<int64_t> top;
    for (int k = 0; k < 10; k++) top.insert(s[k].second);
    return top;
  };
  double overlap = 0;
  for (int64_t i = 0; i < n; i++) {
    const auto a = top10(emb[0], i), b = top10(emb[1], i);
    for (int64_t j : a) overlap += b.count(j);
  }
  overlap /= 10.0 * n;
  const double mean_cos = cos_sum / n, loss_rel = std::fabs(final_loss[1] - final_loss[0]) / final_loss[0];
  std::printf("200 steps, fp32 vs bf16: mean loss of the last 20 steps %.5f vs %.5f (%.2f%%), mean cosine of held-out embeddings %.5f, "
              "top-10 neighbour overlap %.3f, held-out nDCG@10 %.4f vs %.4f\n",
              final_loss[0], final_loss[1], 100 * loss_rel, mean_cos, overlap, ndcg[0], ndcg[1]);
  EXPECT_LE(loss_rel, 0.02);
  EXPECT_GE(mean_cos, 0.99);
  EXPECT_GE(overlap, 0.8);
  EXPECT_NEAR(ndcg[1], ndcg[0], 0.01);
}

}  // namespace
}  // namespace embtune
