// Learning-rate schedules at known points and gradient clipping against PyTorch.
// Not an optimizer test (test_adamw.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "test_util.h"
#include "train/schedule.h"

namespace embtune {
namespace {

TEST(Schedule, WarmupThenLinearCosineConstant) {
  // transformers' get_linear_schedule_with_warmup(opt, 10, 110) and the cosine / constant forms.
  EXPECT_DOUBLE_EQ(lr_at_step(LrSchedule::Linear, 1.0, 0, 10, 110), 0.0);
  EXPECT_DOUBLE_EQ(lr_at_step(LrSchedule::Linear, 1.0, 5, 10, 110), 0.5);
  EXPECT_DOUBLE_EQ(lr_at_step(LrSchedule::Linear, 1.0, 10, 10, 110), 1.0);
  EXPECT_DOUBLE_EQ(lr_at_step(LrSchedule::Linear, 1.0, 60, 10, 110), 0.5);
  EXPECT_DOUBLE_EQ(lr_at_step(LrSchedule::Linear, 1.0, 110, 10, 110), 0.0);
  EXPECT_DOUBLE_EQ(lr_at_step(LrSchedule::Cosine, 2.0, 60, 10, 110), 1.0);
  EXPECT_NEAR(lr_at_step(LrSchedule::Cosine, 1.0, 35, 10, 110), 0.5 * (1 + std::cos(M_PI * 0.25)), 1e-15);
  EXPECT_DOUBLE_EQ(lr_at_step(LrSchedule::Constant, 3.0, 50, 0, 110), 3.0);
  EXPECT_DOUBLE_EQ(lr_at_step(LrSchedule::Constant, 3.0, 1, 4, 110), 0.75);
  LrSchedule k;
  EXPECT_TRUE(lr_schedule_from_name("cosine", &k).ok());
  EXPECT_EQ(k, LrSchedule::Cosine);
  EXPECT_NE(lr_schedule_from_name("step", &k).message().find("step"), std::string::npos);
}

TEST(Schedule, ClipGradNormEqualsTorch) {
  if (test::skip_without_torch()) GTEST_SKIP();
  test::TempDir tmp;
  const std::string script = R"PY(
import json, sys, torch
torch.manual_seed(0)
g = [torch.randn(50) * 3, torch.randn(7, 3)]
ps = [torch.nn.Parameter(torch.zeros_like(x)) for x in g]
for p, x in zip(ps, g): p.grad = x.clone()
norm = torch.nn.utils.clip_grad_norm_(ps, 1.5)
json.dump({"g": torch.cat([x.flatten() for x in g]).tolist(), "norm": float(norm), "out": torch.cat([p.grad.flatten() for p in ps]).tolist()}, open(sys.argv[1], "w"))
)PY";
  test::write_text(tmp.file("clip.py"), script);
  auto r = test::run_command(test::torch_python() + " " + test::sh_quote(tmp.file("clip.py")) + " " + test::sh_quote(tmp.file("o.json")));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(test::read_text(tmp.file("o.json")));
  std::vector<float> g = j["g"].get<std::vector<float>>(), want = j["out"].get<std::vector<float>>();
  double norm = clip_grad_norm(g.data(), static_cast<int64_t>(g.size()), 1.5);
  EXPECT_NEAR(norm, j["norm"].get<double>(), 1e-5);
  for (size_t i = 0; i < g.size(); i++) EXPECT_NEAR(g[i], want[i], 1e-6f) << i;
  // Below the limit nothing changes; max_norm 0 only measures.
  std::vector<float> small{0.1f, 0.2f};
  EXPECT_NEAR(clip_grad_norm(small.data(), 2, 1.0), std::sqrt(0.05), 1e-7);
  EXPECT_EQ(small, (std::vector<float>{0.1f, 0.2f}));
  std::vector<float> big{30.0f, 40.0f};
  EXPECT_NEAR(clip_grad_norm(big.data(), 2, 0.0), 50.0, 1e-9);
  EXPECT_EQ(big, (std::vector<float>{30.0f, 40.0f}));
}

}  // namespace
}  // namespace embtune
