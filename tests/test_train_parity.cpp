// Training trajectory against torch_bert.py train-steps: MNRL + AdamW at a constant learning
// rate, dropout off, the same batches in the same order; losses per step and final weights.
// Not the `embtune train` command (data reading, schedules, checkpoints are tested apart).
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

#include "io/safetensors.h"
#include "model/bert.h"
#include "test_util.h"
#include "train/adamw.h"
#include "train/train_step.h"

namespace embtune {
namespace {

using test::run_command;
using test::sh_quote;

struct Run {
  const char* name;
  int layers, hidden, heads, inter, vocab;
  int batch, steps, negatives;
  double lr, wd;
};

std::vector<int32_t> random_seq(std::mt19937& rng, int vocab, int lo, int hi) {
  std::uniform_int_distribution<int> len(lo, hi);
  std::uniform_int_distribution<int32_t> tok(1, vocab - 1);
  std::vector<int32_t> s{0};
  for (int i = len(rng); i > 0; i--) s.push_back(tok(rng));
  return s;
}

void check_trajectory(const Run& run) {
  test::TempDir tmp;
  const std::string base = tmp.file("base"), out = tmp.file("torch_out");
  auto r = run_command(test::torch_python() + " " + sh_quote(test::torch_reference()) + " make-model " + sh_quote(base) +
                       " --layers " + std::to_string(run.layers) + " --hidden " + std::to_string(run.hidden) + " --heads " +
                       std::to_string(run.heads) + " --inter " + std::to_string(run.inter) + " --vocab " +
                       std::to_string(run.vocab) + " --seed 1");
  ASSERT_EQ(r.exit_code, 0) << r.out;

  std::mt19937 rng(42);
  nlohmann::json pairs = nlohmann::json::array();
  for (int i = 0; i < run.batch * run.steps; i++) {
    nlohmann::json row = {{"q", random_seq(rng, run.vocab, 3, 24)}, {"p", random_seq(rng, run.vocab, 8, 80)}};
    for (int n = 0; n < run.negatives; n++) row["n"].push_back(random_seq(rng, run.vocab, 8, 80));
    pairs.push_back(row);
  }
  test::write_text(tmp.file("pairs.json"), pairs.dump());
  char lr[32], wd[32];
  std::snprintf(lr, sizeof lr, "%g", run.lr);
  std::snprintf(wd, sizeof wd, "%g", run.wd);
  r = run_command(test::torch_python() + " " + sh_quote(test::torch_reference()) + " train-steps " + sh_quote(base) + " " +
                  sh_quote(tmp.file("pairs.json")) + " " + sh_quote(out) + " --steps " + std::to_string(run.steps) +
                  " --batch " + std::to_string(run.batch) + " --lr " + lr + " --wd " + wd);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto torch_losses = nlohmann::json::parse(test::read_text(out + "/losses.json"))["losses"].get<std::vector<double>>();

  BertModel model;
  Status s = model.load_dir(base);
  ASSERT_TRUE(s.ok()) << s.message();
  const std::vector<float> initial = model.params();
  const size_t n = model.params().size();
  std::vector<float> grads(n), m(n, 0.0f), v(n, 0.0f);
  AdamWConfig cfg;
  cfg.weight_decay = run.wd;
  TrainStepScratch scratch;
  LossSpec mnrl;
  // torch_bert.py's pool(): mean pooling, then normalisation.
  SentenceHead head;
  SentenceHeadConfig hc;
  hc.hidden_size = run.hidden;
  hc.modules = {HeadModule::Normalize};
  head.init(hc);
  double worst_loss = 0;
  for (int step = 0; step < run.steps; step++) {
    // Column by column, as the trainer packs a micro-batch: anchors, positives, negative_k.
    PackedBatch batch;
    const int first = step * run.batch, end = (step + 1) * run.batch;
    for (int i = first; i < end; i++) batch.add(pairs[i]["q"].get<std::vector<int32_t>>());
    for (int i = first; i < end; i++) batch.add(pairs[i]["p"].get<std::vector<int32_t>>());
    for (int k = 0; k < run.negatives; k++)
      for (int i = first; i < end; i++) batch.add(pairs[i]["n"][k].get<std::vector<int32_t>>());
    std::fill(grads.begin(), grads.end(), 0.0f);
    const double loss = train_micro_batch(model, head, batch, run.batch, 2 + run.negatives, {}, mnrl, nullptr, 1.0f,
                                          &scratch, grads.data(), nullptr)
                            .loss;
    const double rel = std::fabs(loss - torch_losses[step]) / std::fabs(torch_losses[step]);
    worst_loss = std::max(worst_loss, rel);
    EXPECT_LE(rel, 1e-5) << "step " << step << ": ours " << loss << ", torch " << torch_losses[step];
    for (const ParamInfo& p : model.layout())
      adamw_step(model.params().data() + p.offset, m.data() + p.offset, v.data() + p.offset, grads.data() + p.offset,
                 p.numel, run.lr, step + 1, cfg, param_gets_weight_decay(p.name));
  }

  SafetensorsFile st;
  ASSERT_TRUE(st.open(out + "/model.safetensors").ok());
  float worst = 0, worst_key_bias = 0, torch_key_bias_move = 0;
  std::string worst_name;
  for (const ParamInfo& p : model.layout()) {
    const TensorView* t = st.find(p.name);
    ASSERT_NE(t, nullptr) << p.name;
    std::vector<float> want(p.numel);
    ASSERT_TRUE(tensor_to_f32(*t, want.data()).ok());
    const bool key_bias = p.name.find("attention.self.key.bias") != std::string::npos;
    for (int64_t i = 0; i < p.numel; i++) {
      const float ours = model.params()[p.offset + i], init = initial[p.offset + i];
      if (key_bias) {
        // Its true gradient is exactly zero (softmax ignores a shift shared by all keys), so
        // AdamW turns rounding noise into steps of up to lr in both programs: check that
        // neither moved it by more than lr per step, instead of comparing the noise.
        worst_key_bias = std::max(worst_key_bias, std::fabs(ours - init));
        torch_key_bias_move = std::max(torch_key_bias_move, std::fabs(want[i] - init));
        continue;
      }
      const float d = std::fabs(ours - want[i]);
      if (d > worst) worst = d, worst_name = p.name;
    }
  }
  const float bound = static_cast<float>(run.lr * run.steps * 1.001);
  std::printf("[%s] %d steps: max relative loss difference %.3g; max abs weight difference %.3g (%s); "
              "key bias moved at most %.3g (ours) / %.3g (torch), bound lr x steps = %.3g\n",
              run.name, run.steps, worst_loss, worst, worst_name.c_str(), worst_key_bias, torch_key_bias_move, bound);
  EXPECT_LE(worst, 1e-5f) << worst_name;
  EXPECT_LE(worst_key_bias, bound);
  EXPECT_LE(torch_key_bias_move, bound);
}

TEST(TrainParity, TinyPairs) {
  if (test::skip_without_torch()) GTEST_SKIP();
  check_trajectory({"tiny 2x64x4, pairs", 2, 64, 4, 128, 1000, 4, 10, 0, 1e-4, 0.0});
}

TEST(TrainParity, WiderWithHardNegativesAndWeightDecay) {
  if (test::skip_without_torch()) GTEST_SKIP();
  check_trajectory({"3x96x6, 2 hard negatives, wd 0.01", 3, 96, 6, 384, 2000, 4, 10, 2, 1e-4, 0.01});
}

}  // namespace
}  // namespace embtune
