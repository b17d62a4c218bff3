// Dropout: the hash masks (keep rate, exact scaling, reproducibility across seeds, streams and
// thread counts), attention-probability dropout against its scalar twin, and the encoder's
// training forward and backward with dropout, checked by finite differences.
// Not the trainer's choice of seeds, nor the attention backward's own finite differences
// (test_grad_attention.cpp).
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <random>
#include <vector>

#include "model/bert.h"
#include "ops/attention.h"
#include "ops/dropout.h"
#include "test_util.h"

namespace embtune {
namespace {

using test::offsets;

double dot(const std::vector<float>& a, const float* b) {
  double acc = 0;
  for (size_t i = 0; i < a.size(); i++) acc += static_cast<double>(a[i]) * b[i];
  return acc;
}

// Restores the OpenMP thread count a test changed.
class ThreadCount {
 public:
  explicit ThreadCount(int n) : saved_(omp_get_max_threads()) { omp_set_num_threads(n); }
  ~ThreadCount() { omp_set_num_threads(saved_); }

 private:
  int saved_;
};

// A Bernoulli count of n draws with success rate q lies within 6 standard deviations of n·q
// except with probability about 2e-9: the bound of every rate check below.
void expect_rate(int64_t hits, int64_t n, double q, const char* what) {
  const double sd = std::sqrt(n * q * (1 - q));
  EXPECT_LE(std::fabs(hits - n * q), 6 * sd) << what << ": " << hits << " of " << n << ", expected rate " << q;
}

TEST(Dropout, KeepsOneMinusPAndScalesExactly) {
  std::mt19937 rng(1);
  const int64_t n = 1 << 20;
  auto x = test::random_normal(n, rng);
  for (x[0] = 1.0f; float p : {0.01f, 0.1f, 0.5f, 0.9f}) {
    const DropoutMask m = dropout_mask(p, 1234, 7);
    EXPECT_EQ(m.scale, 1.0f / (1.0f - p));
    std::vector<float> y(n), y_ref(n), dx(n);
    dropout_forward(y.data(), x.data(), n, m);
    dropout_forward_scalar(y_ref.data(), x.data(), n, m);
    dropout_backward(dx.data(), x.data(), n, m);
    EXPECT_EQ(y, y_ref) << "p " << p;
    EXPECT_EQ(y, dx) << "p " << p;  // the backward applies the very same mask and scale
    int64_t kept = 0, kept_even = 0, kept_pairs = 0;
    for (int64_t i = 0; i < n; i++) {
      const bool keep = dropout_keep(m, i);
      EXPECT_EQ(y[i], keep ? x[i] * m.scale : 0.0f) << "p " << p << " i " << i;
      if (y[i] != 0.0f) EXPECT_TRUE(keep);
      kept += keep;
      kept_even += keep && i % 2 == 0;
      kept_pairs += keep && i + 1 < n && dropout_keep(m, i + 1);
    }
    expect_rate(kept, n, 1 - p, "kept");
    expect_rate(kept_even, n / 2, 1 - p, "kept at even indices");
    expect_rate(kept_pairs, n - 1, (1 - p) * (1 - p), "neighbours both kept");  // loose: pairs overlap
    std::printf("p %.2f: kept %.5f (expected %.5f)\n", p, static_cast<double>(kept) / n, 1.0 - p);
  }
}

TEST(Dropout, SeedsStreamsAndThreads) {
  std::mt19937 rng(2);
  const int64_t n = 100003;
  auto x = test::random_normal(n, rng);
  auto run = [&](uint64_t seed, uint64_t stream, int threads) {
    ThreadCount tc(threads);
    std::vector<float> y(n);
    dropout_forward(y.data(), x.data(), n, dropout_mask(0.3f, seed, stream));
    return y;
  };
  const auto a = run(5, 1, 2);
  EXPECT_EQ(a, run(5, 1, 2));
  EXPECT_EQ(a, run(5, 1, 1));
  // Other seeds and streams, nearby ones included, agree on an element only by chance:
  // p² + (1 − p)² = 0.58 of the time.
  for (auto [seed, stream] : {std::pair<uint64_t, uint64_t>{6, 1}, {5, 2}, {4, 1}, {5, 0}, {1ull << 32 | 5, 1}}) {
    const auto b = run(seed, stream, 2);
    int64_t agree = 0;
    for (int64_t i = 0; i < n; i++) agree += (a[i] == 0.0f) == (b[i] == 0.0f);
    expect_rate(agree, n, 0.3 * 0.3 + 0.7 * 0.7, "masks agreeing across seeds/streams");
  }
  // A slice run with its own first index is the same slice of the whole.
  const DropoutMask m = dropout_mask(0.3f, 5, 1);
  std::vector<float> part(1000);
  dropout_forward(part.data(), x.data() + 777, 1000, m, 777);
  EXPECT_TRUE(std::equal(part.begin(), part.end(), a.begin() + 777));
  // In place gives the same bits.
  auto in_place = x;
  dropout_forward(in_place.data(), in_place.data(), n, m);
  EXPECT_EQ(in_place, a);
}

TEST(Dropout, ZeroProbabilityKeepsEverything) {
  const DropoutMask m = dropout_mask(0.0f, 9, 9);
  EXPECT_FALSE(m.active());
  EXPECT_EQ(m.scale, 1.0f);
  std::mt19937 rng(3);
  auto x = test::random_normal(4099, rng);
  std::vector<float> y(x.size());
  dropout_forward(y.data(), x.data(), static_cast<int64_t>(x.size()), m);
  EXPECT_EQ(y, x);
}

// Attention with probability dropout: fast against the scalar twin on ragged sequences and odd
// head sizes, the same tolerance as without dropout (each output is a shorter, rescaled sum).
TEST(AttentionDropout, MatchesScalarForwardAndBackward) {
  std::mt19937 rng(4);
  const std::vector<int32_t> cu = offsets({1, 2, 7, 31, 64, 130});
  const int64_t S = 6, N = cu.back();
  for (auto [H, heads] : {std::pair<int64_t, int64_t>{8, 1}, {64, 4}, {384, 12}, {36, 3}}) {
    for (float p : {0.1f, 0.5f}) {
      const DropoutMask m = dropout_mask(p, 99, 3);
      auto q = test::random_normal(N * H, rng), k = test::random_normal(N * H, rng);
      auto v = test::random_normal(N * H, rng), d_out = test::random_normal(N * H, rng);
      std::vector<float> fast(N * H), ref(N * H), plain(N * H);
      attention_forward(fast.data(), q.data(), k.data(), v.data(), cu.data(), S, H, heads, m);
      attention_forward_scalar(ref.data(), q.data(), k.data(), v.data(), cu.data(), S, H, heads, m);
      attention_forward(plain.data(), q.data(), k.data(), v.data(), cu.data(), S, H, heads);
      float worst = 0, ref_max = 0;
      for (int64_t i = 0; i < N * H; i++) {
        worst = std::max(worst, std::fabs(fast[i] - ref[i]));
        ref_max = std::max(ref_max, std::fabs(ref[i]));
      }
      EXPECT_LT(worst, 2e-6f * std::max(1.0f, ref_max)) << "H=" << H << " p " << p;
      EXPECT_NE(fast, plain) << "dropout changed nothing";

      std::vector<float> dq(N * H, 1e30f), dk(N * H, 1e30f), dv(N * H, 1e30f);
      std::vector<float> dq_ref(N * H), dk_ref(N * H), dv_ref(N * H);
      attention_backward(dq.data(), dk.data(), dv.data(), d_out.data(), q.data(), k.data(), v.data(), cu.data(), S, H,
                         heads, m);
      attention_backward_scalar(dq_ref.data(), dk_ref.data(), dv_ref.data(), d_out.data(), q.data(), k.data(), v.data(),
                                cu.data(), S, H, heads, m);
      for (auto [a, b, name] : {std::tuple{&dq, &dq_ref, "d_q"}, {&dk, &dk_ref, "d_k"}, {&dv, &dv_ref, "d_v"}}) {
        double diff = 0, scale = 1e-30;
        for (int64_t i = 0; i < N * H; i++) {
          diff = std::max(diff, std::fabs(static_cast<double>((*a)[i]) - (*b)[i]));
          scale = std::max(scale, std::fabs(static_cast<double>((*b)[i])));
        }
        EXPECT_LT(diff / scale, 2e-5) << name << " H=" << H << " p " << p;
      }
    }
  }
}

TEST(AttentionDropout, ReproducibleAcrossThreadsAndSeeds) {
  std::mt19937 rng(5);
  const std::vector<int32_t> cu = offsets({5, 17, 33, 9});
  const int64_t S = 4, N = cu.back(), H = 32, heads = 4;
  auto q = test::random_normal(N * H, rng), k = test::random_normal(N * H, rng), v = test::random_normal(N * H, rng);
  auto d_out = test::random_normal(N * H, rng);
  auto run = [&](uint64_t seed, int threads) {
    ThreadCount tc(threads);
    const DropoutMask m = dropout_mask(0.25f, seed, 4);
    std::vector<float> out(N * H), dq(N * H), dk(N * H), dv(N * H);
    attention_forward(out.data(), q.data(), k.data(), v.data(), cu.data(), S, H, heads, m);
    attention_backward(dq.data(), dk.data(), dv.data(), d_out.data(), q.data(), k.data(), v.data(), cu.data(), S, H,
                       heads, m);
    out.insert(out.end(), dq.begin(), dq.end());
    out.insert(out.end(), dk.begin(), dk.end());
    out.insert(out.end(), dv.begin(), dv.end());
    return out;
  };
  const auto a = run(1, 2);
  EXPECT_EQ(a, run(1, 2));
  EXPECT_EQ(a, run(1, 1));
  EXPECT_NE(a, run(2, 2));
}

// A tiny encoder (hidden 16, 2 heads, 2 layers, vocab 50) with weights large enough that every
// path carries gradient, and a packed batch of three sequences.
struct TinyBert {
  BertModel model;
  PackedBatch batch;
  TinyBert() {
    BertConfig c;
    c.vocab_size = 50;
    c.hidden_size = 16;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 2;
    c.intermediate_size = 32;
    c.max_position_embeddings = 16;
    model.init_random(c, 7);
    std::mt19937 rng(8);
    std::normal_distribution<float> normal(0.0f, 0.3f);
    for (const ParamInfo& p : model.layout()) {
      if (p.name.find("LayerNorm") != std::string::npos) continue;  // keep LN at weight 1, bias 0
      for (int64_t i = 0; i < p.numel; i++) model.params()[p.offset + i] = normal(rng);
    }
    std::uniform_int_distribution<int32_t> id(0, 49);
    for (int len : {3, 6, 1, 5}) {
      std::vector<int32_t> seq(len);
      for (auto& t : seq) t = id(rng);
      batch.add(seq);
    }
  }
};

std::vector<float> hidden_of(const BertActivations& acts, int64_t n) { return {acts.hidden(), acts.hidden() + n}; }

TEST(BertDropout, OffIsBitIdenticalToNoDropoutAndOnIsReproducible) {
  TinyBert t;
  const BertModel& m = t.model;
  const int64_t NH = t.batch.num_tokens() * m.config().hidden_size;
  std::mt19937 rng(9);
  const auto g = test::random_normal(NH, rng);
  auto run = [&](const DropoutConfig* d, int threads) {
    ThreadCount tc(threads);
    BertActivations acts;
    std::vector<float> grads(m.params().size(), 0.0f);
    if (d) {
      m.forward_train(&acts, t.batch, *d);
      m.backward(grads.data(), acts, g.data(), t.batch, *d);
    } else {
      m.forward_train(&acts, t.batch);
      m.backward(grads.data(), acts, g.data(), t.batch);
    }
    auto out = hidden_of(acts, NH);
    out.insert(out.end(), grads.begin(), grads.end());
    return out;
  };
  const auto plain = run(nullptr, 2);
  const DropoutConfig zero{0.0f, 0.0f, 12345};
  EXPECT_EQ(plain, run(&zero, 2));  // probabilities 0: the seed is never looked at

  const DropoutConfig on{0.2f, 0.3f, 77};
  const auto a = run(&on, 2);
  EXPECT_EQ(a, run(&on, 2));
  // The masks do not depend on the thread count; the matmuls' sums may (oneDNN can split them
  // differently), so one thread must give the same bits where it does without dropout, and
  // the same values to rounding everywhere.
  const auto a1 = run(&on, 1);
  if (run(nullptr, 1) == plain) EXPECT_EQ(a, a1);
  for (size_t i = 0; i < a.size(); i++) ASSERT_NEAR(a[i], a1[i], 1e-5f * std::max(1.0f, std::fabs(a[i]))) << i;
  EXPECT_NE(a, plain);
  DropoutConfig other = on;
  other.seed = 78;
  EXPECT_NE(a, run(&other, 2));
  // Each kind on its own changes the result.
  const DropoutConfig hidden_only{0.2f, 0.0f, 77}, attention_only{0.0f, 0.3f, 77};
  EXPECT_NE(run(&hidden_only, 2), plain);
  EXPECT_NE(run(&attention_only, 2), plain);
}

TEST(BertDropout, BackwardMismatchedDropoutAborts) {
  TinyBert t;
  BertActivations acts;
  t.model.forward_train(&acts, t.batch, DropoutConfig{0.1f, 0.1f, 1});
  std::vector<float> grads(t.model.params().size()), d(t.batch.num_tokens() * 16, 1.0f);
  EXPECT_DEATH(t.model.backward(grads.data(), acts, d.data(), t.batch, DropoutConfig{0.1f, 0.1f, 2}), "dropout");
}

// Loss = Σ hidden ⊙ G through the fp32 training forward with fixed masks. Every tensor is
// checked at a few random elements and at its largest-gradient ones, eps 1e-2 (the fp32
// forward's rounding, about 1e-6 of the loss, then moves a quotient by about 1e-4), tolerance
// 3e-3 · max(1, |g|).
void check_bert_finite_differences(const DropoutConfig& d) {
  TinyBert t;
  BertModel& m = t.model;
  const int64_t NH = t.batch.num_tokens() * m.config().hidden_size;
  std::mt19937 rng(10);
  const auto g = test::random_normal(NH, rng);
  BertActivations acts;
  std::vector<float> grads(m.params().size(), 0.0f);
  m.forward_train(&acts, t.batch, d);
  m.backward(grads.data(), acts, g.data(), t.batch, d);
  auto loss = [&] {
    BertActivations a;
    m.forward_train(&a, t.batch, d);
    return dot(g, a.hidden());
  };
  const double eps = 1e-2, tol = 3e-3;
  double worst = 0;
  int checked = 0;
  for (const ParamInfo& p : m.layout()) {
    std::vector<int64_t> idx;
    std::uniform_int_distribution<int64_t> any(0, p.numel - 1);
    for (int i = 0; i < 3; i++) idx.push_back(any(rng));
    std::vector<int64_t> by_grad(p.numel);
    for (int64_t i = 0; i < p.numel; i++) by_grad[i] = i;
    std::partial_sort(by_grad.begin(), by_grad.begin() + std::min<int64_t>(3, p.numel), by_grad.end(),
                      [&](int64_t a, int64_t b) { return std::fabs(grads[p.offset + a]) > std::fabs(grads[p.offset + b]); });
    idx.insert(idx.end(), by_grad.begin(), by_grad.begin() + std::min<int64_t>(3, p.numel));
    for (int64_t i : idx) {
      float& w = m.params()[p.offset + i];
      const float saved = w;
      const float plus = static_cast<float>(saved + eps), minus = static_cast<float>(saved - eps);
      w = plus;
      const double l_plus = loss();
      w = minus;
      const double l_minus = loss();
      w = saved;
      const double fd = (l_plus - l_minus) / (static_cast<double>(plus) - minus);
      const double analytic = grads[p.offset + i];
      const double err = std::fabs(fd - analytic) / std::max(1.0, std::fabs(analytic));
      worst = std::max(worst, err);
      checked++;
      EXPECT_LE(err, tol) << p.name << "[" << i << "] fd " << fd << " analytic " << analytic;
    }
  }
  std::printf("dropout hidden %.2f attention %.2f: %d weights, max |fd - analytic| / max(1, |g|) = %.3g\n", d.hidden,
              d.attention, checked, worst);
}

TEST(BertDropout, BackwardMatchesFiniteDifferencesWithoutDropout) { check_bert_finite_differences({}); }

TEST(BertDropout, BackwardMatchesFiniteDifferencesWithDropout) {
  check_bert_finite_differences({0.2f, 0.3f, 2026});
}

}  // namespace
}  // namespace embtune
