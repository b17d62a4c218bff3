// Backward of attention, pooling, L2 normalisation and MNRL: fast kernels against their scalar
// twins, every gradient against central finite differences (attention also with dropout), MNRL
// against hand values and torch.
// Not end-to-end gradient parity of the encoder with PyTorch.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "ops/attention.h"
#include "ops/loss.h"
#include "ops/pooling.h"
#include "test_util.h"

namespace embtune {
namespace {

using test::offsets;

// max |a − b| / max(max |b|, 1e-30): the error relative to the reference's scale.
double rel_max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double diff = 0, ref = 0;
  for (size_t i = 0; i < a.size(); i++) {
    diff = std::max(diff, std::fabs(static_cast<double>(a[i]) - b[i]));
    ref = std::max(ref, std::fabs(static_cast<double>(b[i])));
  }
  return diff / std::max(ref, 1e-30);
}

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double acc = 0;
  for (size_t i = 0; i < a.size(); i++) acc += static_cast<double>(a[i]) * b[i];
  return acc;
}

// Central differences of f at every element of x (x is restored), against the analytic gradient:
// each element must satisfy |fd − g| ≤ tol · max(1, |g|). Returns the largest |fd − g|.
double check_finite_differences(std::vector<float>& x, const std::vector<float>& grad,
                                const std::function<double()>& f, float eps, double tol, const char* what) {
  double worst = 0;
  for (size_t i = 0; i < x.size(); i++) {
    const float saved = x[i];
    x[i] = saved + eps;
    const float hi = x[i];
    const double f_hi = f();
    x[i] = saved - eps;
    const float lo = x[i];
    const double f_lo = f();
    x[i] = saved;
    const double fd = (f_hi - f_lo) / (static_cast<double>(hi) - lo);
    const double err = std::fabs(fd - grad[i]);
    worst = std::max(worst, err);
    EXPECT_LE(err, tol * std::max(1.0, std::fabs(static_cast<double>(grad[i])))) << what << "[" << i << "] fd " << fd << " analytic " << grad[i];
  }
  return worst;
}

// q, k, v side by side in one (N, 3H) buffer (row stride 3H, as BertModel's fused projection
// writes them): forward and backward equal the separate-buffer results exactly, and the
// gradients land in their thirds of a (N, 3H) buffer without touching anything else.
TEST(AttentionBackward, FusedQkvRowsEqualSeparateBuffers) {
  std::mt19937 rng(5);
  const std::vector<int32_t> cu = offsets({3, 17, 40});
  const int64_t S = 3, N = cu.back(), heads = 4, H = 64, ld = 3 * H;
  auto q = test::random_normal(N * H, rng), k = test::random_normal(N * H, rng), v = test::random_normal(N * H, rng);
  auto d_out = test::random_normal(N * H, rng);
  std::vector<float> qkv(N * ld);
  for (int64_t t = 0; t < N; t++)
    for (int64_t c = 0; c < H; c++) {
      qkv[t * ld + c] = q[t * H + c];
      qkv[t * ld + H + c] = k[t * H + c];
      qkv[t * ld + 2 * H + c] = v[t * H + c];
    }
  const DropoutMask mask = dropout_mask(0.2f, 9, 1);
  for (const DropoutMask& m : {DropoutMask{}, mask}) {
    std::vector<float> out(N * H), out_fused(N * H);
    attention_forward(out.data(), q.data(), k.data(), v.data(), cu.data(), S, H, heads, m);
    attention_forward(out_fused.data(), qkv.data(), qkv.data() + H, qkv.data() + 2 * H, cu.data(), S, H, heads, m,
                      Precision::Fp32, ld);
    EXPECT_EQ(out_fused, out);
    std::vector<float> dq(N * H), dk(N * H), dv(N * H), d_qkv(N * ld, 7.0f);
    attention_backward(dq.data(), dk.data(), dv.data(), d_out.data(), q.data(), k.data(), v.data(), cu.data(), S, H,
                       heads, m);
    attention_backward(d_qkv.data(), d_qkv.data() + H, d_qkv.data() + 2 * H, d_out.data(), qkv.data(), qkv.data() + H,
                       qkv.data() + 2 * H, cu.data(), S, H, heads, m, Precision::Fp32, ld);
    for (int64_t t = 0; t < N; t++)
      for (int64_t c = 0; c < H; c++) {
        ASSERT_EQ(d_qkv[t * ld + c], dq[t * H + c]) << t << "," << c;
        ASSERT_EQ(d_qkv[t * ld + H + c], dk[t * H + c]) << t << "," << c;
        ASSERT_EQ(d_qkv[t * ld + 2 * H + c], dv[t * H + c]) << t << "," << c;
      }
  }
}

TEST(AttentionBackward, MatchesScalarOnRaggedSequences) {
  std::mt19937 rng(11);
  const std::vector<int32_t> cu = offsets({1, 2, 7, 31, 64, 130});
  const int64_t S = 6, N = cu.back();
  for (int64_t D : {8, 12, 16, 32}) {
    const int64_t heads = 3, H = D * heads;
    auto q = test::random_normal(N * H, rng), k = test::random_normal(N * H, rng), v = test::random_normal(N * H, rng);
    auto d_out = test::random_normal(N * H, rng);
    // Prefilled with garbage: both write (=), so nothing of it may survive.
    std::vector<float> dq(N * H, 1e30f), dk(N * H, 1e30f), dv(N * H, 1e30f);
    std::vector<float> dq_ref(N * H, -1e30f), dk_ref(N * H, -1e30f), dv_ref(N * H, -1e30f);
    attention_backward(dq.data(), dk.data(), dv.data(), d_out.data(), q.data(), k.data(), v.data(), cu.data(), S, H, heads);
    attention_backward_scalar(dq_ref.data(), dk_ref.data(), dv_ref.data(), d_out.data(), q.data(), k.data(), v.data(),
                              cu.data(), S, H, heads);
    const double eq = rel_max_diff(dq, dq_ref), ek = rel_max_diff(dk, dk_ref), ev = rel_max_diff(dv, dv_ref);
    EXPECT_LT(eq, 2e-5) << "d_q D=" << D;
    EXPECT_LT(ek, 2e-5) << "d_k D=" << D;
    EXPECT_LT(ev, 2e-5) << "d_v D=" << D;
    std::printf("attention D=%lld: max relative diff to scalar d_q %.3g d_k %.3g d_v %.3g\n",
                static_cast<long long>(D), eq, ek, ev);
  }
}

// Loss = Σ out ⊙ G through the double scalar forward; eps 1e-3 on fp32 inputs; tolerance 1e-3
// relative (absolute below 1), which leaves room for the fp32 rounding of the forward's output.
TEST(AttentionBackward, MatchesFiniteDifferences) {
  std::mt19937 rng(12);
  const std::vector<int32_t> cu = offsets({1, 3, 5});
  const int64_t S = 3, N = cu.back();
  for (int64_t D : {3, 4}) {
    const int64_t heads = 2, H = D * heads;
    auto q = test::random_normal(N * H, rng), k = test::random_normal(N * H, rng), v = test::random_normal(N * H, rng);
    auto g = test::random_normal(N * H, rng);
    std::vector<float> dq(N * H), dk(N * H), dv(N * H), out(N * H);
    attention_backward(dq.data(), dk.data(), dv.data(), g.data(), q.data(), k.data(), v.data(), cu.data(), S, H, heads);
    auto f = [&] {
      attention_forward_scalar(out.data(), q.data(), k.data(), v.data(), cu.data(), S, H, heads);
      return dot(out, g);
    };
    double worst = check_finite_differences(q, dq, f, 1e-3f, 1e-3, "d_q");
    worst = std::max(worst, check_finite_differences(k, dk, f, 1e-3f, 1e-3, "d_k"));
    worst = std::max(worst, check_finite_differences(v, dv, f, 1e-3f, 1e-3, "d_v"));
    std::printf("attention D=%lld: max |fd - analytic| = %.3g\n", static_cast<long long>(D), worst);
  }
}

// The same check with attention-probability dropout (p 0.3, fixed seed): the scalar forward
// regenerates the mask, so the loss is a smooth function of q, k, v and the backward's
// regenerated mask must be the forward's for the differences to agree.
TEST(AttentionBackward, MatchesFiniteDifferencesWithDropout) {
  std::mt19937 rng(18);
  const std::vector<int32_t> cu = offsets({1, 3, 6});
  const int64_t S = 3, N = cu.back();
  const DropoutMask mask = dropout_mask(0.3f, 31, 5);
  for (int64_t D : {3, 4}) {
    const int64_t heads = 2, H = D * heads;
    auto q = test::random_normal(N * H, rng), k = test::random_normal(N * H, rng), v = test::random_normal(N * H, rng);
    auto g = test::random_normal(N * H, rng);
    std::vector<float> dq(N * H), dk(N * H), dv(N * H), out(N * H);
    std::vector<float> dq_plain(N * H), dk_plain(N * H), dv_plain(N * H);
    attention_backward(dq.data(), dk.data(), dv.data(), g.data(), q.data(), k.data(), v.data(), cu.data(), S, H, heads,
                       mask);
    attention_backward(dq_plain.data(), dk_plain.data(), dv_plain.data(), g.data(), q.data(), k.data(), v.data(),
                       cu.data(), S, H, heads);
    EXPECT_NE(dv, dv_plain) << "the mask dropped nothing";
    auto f = [&] {
      attention_forward_scalar(out.data(), q.data(), k.data(), v.data(), cu.data(), S, H, heads, mask);
      return dot(out, g);
    };
    double worst = check_finite_differences(q, dq, f, 1e-3f, 1e-3, "d_q");
    worst = std::max(worst, check_finite_differences(k, dk, f, 1e-3f, 1e-3, "d_k"));
    worst = std::max(worst, check_finite_differences(v, dv, f, 1e-3f, 1e-3, "d_v"));
    std::printf("attention with dropout D=%lld: max |fd - analytic| = %.3g\n", static_cast<long long>(D), worst);
  }
}

const PoolingMode kBackwardModes[] = {PoolingMode::Cls, PoolingMode::Mean, PoolingMode::MeanSqrtLen,
                                      PoolingMode::LastToken};

TEST(PoolingBackward, MatchesScalarAndAccumulates) {
  std::mt19937 rng(13);
  const int64_t H = 37, S = 4;
  const std::vector<int32_t> cu = offsets({1, 5, 9, 3});
  const std::vector<int32_t> skip{0, 2, 5, 3};  // the last skips everything: no gradient
  const int64_t N = cu.back();
  for (PoolingMode m : kBackwardModes) {
    for (bool use_skip : {false, true}) {
      const int64_t stride = H + 3;  // pooled rows inside a wider concatenation
      auto d_out = test::random_normal(S * stride, rng);
      const auto base = test::random_normal(N * H, rng);
      auto fast = base, ref = base;
      pooling_backward(fast.data(), d_out.data(), stride, cu.data(), use_skip ? skip.data() : nullptr, S, H, m);
      pooling_backward_scalar(ref.data(), d_out.data(), stride, cu.data(), use_skip ? skip.data() : nullptr, S, H, m);
      EXPECT_LT(rel_max_diff(fast, ref), 1e-6) << static_cast<int>(m) << " skip " << use_skip;
      if (use_skip && m != PoolingMode::Cls && m != PoolingMode::LastToken) {
        for (int64_t t = cu[3]; t < cu[4]; t++) {
          for (int64_t c = 0; c < H; c++) EXPECT_EQ(fast[t * H + c], base[t * H + c]);
        }
      }
    }
  }
}

// Pooling is linear, so differences are exact up to fp32 rounding: tolerance 1e-3.
TEST(PoolingBackward, MatchesFiniteDifferences) {
  std::mt19937 rng(14);
  const int64_t H = 5, S = 4;
  const std::vector<int32_t> cu = offsets({1, 4, 6, 3});
  const std::vector<int32_t> skip{0, 2, 1, 3};
  const int64_t N = cu.back();
  for (PoolingMode m : kBackwardModes) {
    for (bool use_skip : {false, true}) {
      const int32_t* sk = use_skip ? skip.data() : nullptr;
      auto x = test::random_normal(N * H, rng), g = test::random_normal(S * H, rng);
      std::vector<float> dx(N * H, 0.0f), out(S * H);
      pooling_backward(dx.data(), g.data(), H, cu.data(), sk, S, H, m);
      auto f = [&] {
        pooling_forward_scalar(out.data(), H, x.data(), cu.data(), sk, S, H, m);
        return dot(out, g);
      };
      check_finite_differences(x, dx, f, 1e-3f, 1e-3, "d_x");
    }
  }
}

TEST(L2NormalizeBackward, MatchesScalarAndFiniteDifferences) {
  std::mt19937 rng(15);
  for (int64_t D : {1, 3, 17, 384}) {
    const int64_t S = 5;
    auto x = test::random_normal(S * D, rng, 2.0f), g = test::random_normal(S * D, rng);
    std::vector<float> y(S * D), norm(S), in_place = x;
    l2_normalize_forward(y.data(), norm.data(), x.data(), S, D);
    l2_normalize_forward(in_place.data(), S, D);
    EXPECT_EQ(y, in_place);
    std::vector<float> dx(S * D, 1e30f), dx_ref(S * D, -1e30f), dx_alias = g;
    l2_normalize_backward(dx.data(), g.data(), y.data(), norm.data(), S, D);
    l2_normalize_backward_scalar(dx_ref.data(), g.data(), y.data(), norm.data(), S, D);
    l2_normalize_backward(dx_alias.data(), dx_alias.data(), y.data(), norm.data(), S, D);
    EXPECT_LT(rel_max_diff(dx, dx_ref), 1e-5) << "D=" << D;
    EXPECT_EQ(dx, dx_alias);
    if (D > 17) continue;  // finite differences on the small shapes
    std::vector<float> yy(S * D), nn(S);
    auto f = [&] {
      l2_normalize_forward(yy.data(), nn.data(), x.data(), S, D);
      return dot(yy, g);
    };
    check_finite_differences(x, dx_ref, f, 1e-3f, 1e-3, "d_x");
  }
}

TEST(L2NormalizeBackward, ZeroRowPassesGradientOverClampedNorm) {
  const std::vector<float> y{0, 0, 0}, norm{1e-12f}, g{1, -2, 3};
  std::vector<float> dx(3);
  l2_normalize_backward(dx.data(), g.data(), y.data(), norm.data(), 1, 3);
  for (int c = 0; c < 3; c++) EXPECT_FLOAT_EQ(dx[c], g[c] / 1e-12f);
}

// Loss in double from fp32 inputs; eps 1e-3, tolerance 1e-3 relative (absolute below 1).
TEST(Mnrl, MatchesFiniteDifferences) {
  std::mt19937 rng(16);
  const int64_t B = 4, D = 8;
  for (int64_t P : {4, 10}) {
    for (bool symmetric : {false, true}) {
      auto q = test::random_normal(B * D, rng), p = test::random_normal(P * D, rng);
      std::vector<float> dq(B * D, 1e30f), dp(P * D, 1e30f), scratch_q(B * D), scratch_p(P * D);
      mnrl_forward_backward(dq.data(), dp.data(), q.data(), p.data(), B, P, D, 20.0f, symmetric);
      auto f = [&] {
        return mnrl_forward_backward(scratch_q.data(), scratch_p.data(), q.data(), p.data(), B, P, D, 20.0f, symmetric);
      };
      const double wq = check_finite_differences(q, dq, f, 1e-3f, 1e-3, "d_q");
      const double wp = check_finite_differences(p, dp, f, 1e-3f, 1e-3, "d_p");
      std::printf("mnrl P=%lld symmetric=%d: max |fd - analytic| d_q %.3g d_p %.3g\n", static_cast<long long>(P),
                  symmetric, wq, wp);
    }
  }
}

// q_i = p_i = 3 e_i: cos is the identity matrix, so each row's loss is
// log(1 + (P − 1) e^{−scale}) (and the symmetric term, over B columns, log(1 + (B − 1) e^{−scale})).
TEST(Mnrl, HandComputedValue) {
  const int64_t B = 4, D = 6, P = 6;
  std::vector<float> q(B * D, 0.0f), p(P * D, 0.0f), dq(B * D), dp(P * D);
  for (int64_t i = 0; i < B; i++) q[i * D + i] = 3.0f;
  for (int64_t j = 0; j < P; j++) p[j * D + j] = 0.5f;  // hard negatives e_4, e_5
  const double scale = 2.0;
  const double fwd = std::log(1 + (P - 1) * std::exp(-scale)), bwd = std::log(1 + (B - 1) * std::exp(-scale));
  EXPECT_NEAR(mnrl_forward_backward(dq.data(), dp.data(), q.data(), p.data(), B, P, D, scale, false), fwd, 1e-12);
  EXPECT_NEAR(mnrl_forward_backward(dq.data(), dp.data(), q.data(), p.data(), B, P, D, scale, true), (fwd + bwd) / 2,
              1e-12);
  // Rows are normalised inside: unit rows give the same loss as scaled ones.
  for (auto& x : p) x *= 2.0f;
  EXPECT_NEAR(mnrl_forward_backward(dq.data(), dp.data(), q.data(), p.data(), B, P, D, scale, false), fwd, 1e-12);
}

std::string python_list(const std::vector<float>& v, int64_t cols) {
  std::ostringstream os;
  os.precision(9);
  os << "[";
  for (size_t i = 0; i < v.size(); i++) {
    if (i % cols == 0) os << (i ? "], [" : "[");
    else os << ", ";
    os << v[i];
  }
  os << "]]";
  return os.str();
}

// torch_bert.py's mnrl_loss math (pool() normalises, then scale · q @ p.T and F.cross_entropy),
// plus sentence-transformers' symmetric term, in float64 with autograd; one line per variant.
TEST(Mnrl, MatchesTorch) {
  if (test::skip_without_torch()) GTEST_SKIP() << "reference not available";
  std::mt19937 rng(17);
  const int64_t B = 4, P = 10, D = 8;
  const float scale = 20.0f;
  auto q = test::random_normal(B * D, rng), p = test::random_normal(P * D, rng);
  std::ostringstream script;
  script << "import torch, torch.nn.functional as F\n"
         << "for symmetric in (False, True):\n"
         << "    q = torch.tensor(" << python_list(q, D) << ", dtype=torch.float64, requires_grad=True)\n"
         << "    p = torch.tensor(" << python_list(p, D) << ", dtype=torch.float64, requires_grad=True)\n"
         << "    s = F.normalize(q, dim=-1) @ F.normalize(p, dim=-1).T * " << scale << "\n"
         << "    labels = torch.arange(" << B << ")\n"
         << "    loss = F.cross_entropy(s, labels)\n"
         << "    if symmetric:\n"
         << "        loss = (loss + F.cross_entropy(s[:, :" << B << "].T, labels)) / 2\n"
         << "    loss.backward()\n"
         << "    print(repr(loss.item()), *[repr(x) for x in q.grad.flatten().tolist() + p.grad.flatten().tolist()])\n";
  test::TempDir dir;
  test::write_text(dir.file("mnrl.py"), script.str());
  const auto r = test::run_command(test::torch_python() + " " + test::sh_quote(dir.file("mnrl.py")));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::istringstream in(r.out);
  for (bool symmetric : {false, true}) {
    double torch_loss;
    in >> torch_loss;
    std::vector<float> tq(B * D), tp(P * D);
    for (auto& x : tq) in >> x;
    for (auto& x : tp) in >> x;
    ASSERT_FALSE(in.fail()) << r.out;
    std::vector<float> dq(B * D), dp(P * D);
    const double loss = mnrl_forward_backward(dq.data(), dp.data(), q.data(), p.data(), B, P, D, scale, symmetric);
    EXPECT_NEAR(loss, torch_loss, 1e-9 * std::max(1.0, torch_loss)) << "symmetric " << symmetric;
    EXPECT_LT(rel_max_diff(dq, tq), 1e-6) << "symmetric " << symmetric;
    EXPECT_LT(rel_max_diff(dp, tp), 1e-6) << "symmetric " << symmetric;
  }
}

}  // namespace
}  // namespace embtune
