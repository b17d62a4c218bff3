// AdamW against torch.optim.AdamW (Debian's PyTorch) over several steps with weight decay on one
// group and not the other, and the vectorised kernel against its scalar twin.
// Not a training test: gradients are random numbers, not a model's.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

#include "test_util.h"
#include "train/adamw.h"

namespace embtune {
namespace {

TEST(AdamW, VectorisedEqualsScalarTwin) {
  std::mt19937 rng(1);
  std::normal_distribution<float> d(0.0f, 1.0f);
  const int64_t n = 1001;
  std::vector<float> p(n), g(n), m1(n, 0), v1(n, 0), m2(n, 0), v2(n, 0);
  for (auto& x : p) x = d(rng);
  std::vector<float> q = p;
  AdamWConfig cfg;
  for (int step = 1; step <= 5; step++) {
    for (auto& x : g) x = d(rng);
    adamw_step(p.data(), m1.data(), v1.data(), g.data(), n, 1e-3, step, cfg, true);
    adamw_step_scalar(q.data(), m2.data(), v2.data(), g.data(), n, 1e-3, step, cfg, true);
  }
  for (int64_t i = 0; i < n; i++) ASSERT_EQ(p[i], q[i]) << i;
}

TEST(AdamW, DecayGroupsAsHuggingFaceTrainer) {
  EXPECT_TRUE(param_gets_weight_decay("encoder.layer.0.attention.self.query.weight"));
  EXPECT_TRUE(param_gets_weight_decay("embeddings.word_embeddings.weight"));
  EXPECT_FALSE(param_gets_weight_decay("encoder.layer.0.attention.self.query.bias"));
  EXPECT_FALSE(param_gets_weight_decay("encoder.layer.3.output.LayerNorm.weight"));
  EXPECT_FALSE(param_gets_weight_decay("embeddings.LayerNorm.bias"));
}

TEST(AdamW, EqualsTorchOptimAdamW) {
  if (test::skip_without_torch()) GTEST_SKIP();
  test::TempDir tmp;
  const std::string script = R"PY(
import json, sys, numpy as np, torch
rng = np.random.default_rng(0)
n, steps, lr, wd = 300, 6, 3e-3, 0.1
p0 = rng.standard_normal(n).astype(np.float32)
grads = [rng.standard_normal(n).astype(np.float32) * s for s in (1.0, 1e-3, 10.0, 1.0, 1e-6, 0.5)]
a = torch.nn.Parameter(torch.from_numpy(p0[:200].copy())); b = torch.nn.Parameter(torch.from_numpy(p0[200:].copy()))
opt = torch.optim.AdamW([{"params": [a], "weight_decay": wd}, {"params": [b], "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.999), eps=1e-8)
for g in grads:
    a.grad = torch.from_numpy(g[:200].copy()); b.grad = torch.from_numpy(g[200:].copy()); opt.step()
json.dump({"p0": p0.tolist(), "grads": [g.tolist() for g in grads], "out": a.detach().numpy().tolist() + b.detach().numpy().tolist()}, open(sys.argv[1], "w"))
)PY";
  test::write_text(tmp.file("adamw.py"), script);
  auto r = test::run_command(test::torch_python() + " " + test::sh_quote(tmp.file("adamw.py")) + " " + test::sh_quote(tmp.file("out.json")));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(test::read_text(tmp.file("out.json")));
  std::vector<float> p = j["p0"].get<std::vector<float>>(), want = j["out"].get<std::vector<float>>();
  std::vector<float> m(p.size(), 0.0f), v(p.size(), 0.0f);
  AdamWConfig cfg;
  cfg.weight_decay = 0.1;
  int step = 0;
  for (auto& gj : j["grads"]) {
    std::vector<float> g = gj.get<std::vector<float>>();
    step++;
    adamw_step(p.data(), m.data(), v.data(), g.data(), 200, 3e-3, step, cfg, true);
    adamw_step(p.data() + 200, m.data() + 200, v.data() + 200, g.data() + 200, 100, 3e-3, step, cfg, false);
  }
  float worst = 0;
  for (size_t i = 0; i < p.size(); i++) worst = std::max(worst, std::fabs(p[i] - want[i]));
  std::printf("AdamW vs torch after 6 steps: max abs diff %.3g\n", worst);
  EXPECT_LE(worst, 1e-7f);
}

}  // namespace
}  // namespace embtune
