// `embtune train` end to end: the contract's reference recipe against torch_bert.py train-steps on
// the same texts (tokenized by HF tokenizers), the output directory, and bad data refused before
// training starts. Not the op-level gradient checks (test_grad_*) or the library-level trajectory.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "test_util.h"

namespace embtune {
namespace {

namespace fs = std::filesystem;
using test::run_command;
using test::sh_quote;

std::string bin() { return sh_quote(test::embtune_bin()); }
std::string minilm_tokenizer() {
  return test::shared_dir() + "/data/tokenizers/sentence-transformers__all-MiniLM-L6-v2/tokenizer.json";
}

const char* kRows[][3] = {
    {"how do I reset my password", "Open settings, choose security and press reset password.", "The cafeteria opens at noon."},
    {"what is the refund policy", "Refunds are paid within 30 days of a return.", "Our office is in the city centre."},
    {"who can approve an expense", "Team leads approve expenses up to 500 euros.", "Passwords must have 12 characters."},
    {"when is the next release", "Version 4.2 ships on the first Monday of March.", "Expenses need a receipt."},
    {"how to book a meeting room", "Use the calendar app and pick a free room.", "Refunds take a month."},
    {"where are the backups stored", "Nightly backups go to the second data centre.", "The release notes list every fix."},
    {"can I work from home", "Staff may work remotely two days a week.", "Meeting rooms seat eight people."},
    {"what does the VPN do", "The VPN encrypts traffic to the company network.", "Backups run at night."},
};

TEST(TrainCli, ReferenceRecipeEqualsTorchTrainSteps) {
  if (test::skip_without_torch() || test::skip_without_peer()) GTEST_SKIP();
  test::TempDir tmp;
  const std::string base = tmp.file("base");
  auto r = run_command(test::torch_python() + " " + sh_quote(test::torch_reference()) + " make-model " + sh_quote(base) +
                       " --layers 2 --hidden 64 --heads 4 --inter 128 --seed 2");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  fs::copy_file(minilm_tokenizer(), base + "/tokenizer.json");

  // The same rows as texts (for embtune) and as HF tokenizers ids (for the reference).
  std::string jsonl, lines;
  for (auto& row : kRows) {
    jsonl += nlohmann::json({{"anchor", row[0]}, {"positive", row[1]}, {"negative_1", row[2]}}).dump() + "\n";
    for (int c = 0; c < 3; c++) lines += std::string(row[c]) + "\n";
  }
  test::write_text(tmp.file("train.jsonl"), jsonl);
  test::write_text(tmp.file("texts.txt"), lines);
  r = run_command(test::node_command() + " " + sh_quote(test::shared_dir() + "/reference/tokenize_peer.js") + " " +
                  sh_quote(minilm_tokenizer()) + " " + sh_quote(tmp.file("texts.txt")) + " --max-length 512");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::vector<std::vector<int>> ids;
  for (size_t pos = 0; pos < r.out.size();) {
    size_t nl = r.out.find('\n', pos);
    ids.push_back(nlohmann::json::parse(r.out.substr(pos, nl - pos))["ids"].get<std::vector<int>>());
    pos = nl + 1;
  }
  nlohmann::json pairs = nlohmann::json::array();
  for (size_t i = 0; i + 2 < ids.size(); i += 3) pairs.push_back({{"q", ids[i]}, {"p", ids[i + 1]}, {"n", {ids[i + 2]}}});
  test::write_text(tmp.file("pairs.json"), pairs.dump());
  r = run_command(test::torch_python() + " " + sh_quote(test::torch_reference()) + " train-steps " + sh_quote(base) + " " +
                  sh_quote(tmp.file("pairs.json")) + " " + sh_quote(tmp.file("ref")) +
                  " --steps 4 --batch 2 --lr 1e-4 --wd 0.01");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto ref_losses = nlohmann::json::parse(test::read_text(tmp.file("ref/losses.json")))["losses"].get<std::vector<double>>();

  const std::string out = tmp.file("tuned");
  r = run_command(bin() + " train --model " + sh_quote(base) + " --train " + sh_quote(tmp.file("train.jsonl")) + " --out " +
                  sh_quote(out) + " --batch-size 2 --max-steps 4 --lr 1e-4 --warmup 0 --scheduler constant"
                  " --weight-decay 0.01 --max-grad-norm 0 --dropout 0 --no-shuffle --precision fp32 --seed 0 --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.out;

  std::vector<double> ours;
  std::string log = test::read_text(out + "/training_log.jsonl");
  for (size_t pos = 0; pos < log.size();) {
    size_t nl = log.find('\n', pos);
    auto j = nlohmann::json::parse(log.substr(pos, nl - pos));
    EXPECT_EQ(j["step"].get<int>(), static_cast<int>(ours.size()) + 1);
    for (const char* k : {"loss", "lr", "grad_norm", "tokens_per_s", "epoch"}) EXPECT_TRUE(j.contains(k)) << k;
    ours.push_back(j["loss"].get<double>());
    pos = nl + 1;
  }
  ASSERT_EQ(ours.size(), ref_losses.size());
  for (size_t i = 0; i < ours.size(); i++) EXPECT_NEAR(ours[i], ref_losses[i], 1e-5 * std::fabs(ref_losses[i])) << "step " << i + 1;

  SafetensorsFile mine, ref;
  ASSERT_TRUE(mine.open(out + "/model.safetensors").ok());
  ASSERT_TRUE(ref.open(tmp.file("ref/model.safetensors")).ok());
  ASSERT_EQ(mine.tensors().size(), ref.tensors().size());
  float worst = 0;
  std::string worst_name;
  for (const TensorView& t : ref.tensors()) {
    const TensorView* o = mine.find(t.name);
    ASSERT_NE(o, nullptr) << t.name;
    EXPECT_EQ(o->dtype, DType::F32);
    if (t.name.find("attention.self.key.bias") != std::string::npos) continue;  // zero true gradient: see test_train_parity
    std::vector<float> a(t.numel()), b(t.numel());
    ASSERT_TRUE(tensor_to_f32(t, a.data()).ok());
    ASSERT_TRUE(tensor_to_f32(*o, b.data()).ok());
    for (size_t i = 0; i < a.size(); i++)
      if (std::fabs(a[i] - b[i]) > worst) worst = std::fabs(a[i] - b[i]), worst_name = t.name;
  }
  std::printf("embtune train vs torch train-steps, 4 steps: losses %s; max abs weight difference %.3g (%s)\n",
              nlohmann::json(ours).dump().c_str(), worst, worst_name.c_str());
  EXPECT_LE(worst, 1e-5f) << worst_name;
  EXPECT_TRUE(fs::exists(out + "/tokenizer.json"));
  EXPECT_TRUE(fs::exists(out + "/config.json"));
  // The tuned directory embeds.
  r = run_command(bin() + " embed --model " + sh_quote(out) + " --input " + sh_quote(tmp.file("texts.txt")) + " --output " +
                  sh_quote(tmp.file("e.npy")) + " --quiet");
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

class TrainBadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    if (test::skip_without_shared()) GTEST_SKIP();
    auto r = run_command(bin() + " init --config tiny --tokenizer " + sh_quote(minilm_tokenizer()) + " --out " +
                         sh_quote(tmp_.file("base")) + " --quiet");
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  void expect_refused(const std::string& data_name, const std::string& data, const std::string& extra,
                      const std::vector<std::string>& needles) {
    test::write_text(tmp_.file(data_name), data);
    auto r = run_command(bin() + " train --model " + sh_quote(tmp_.file("base")) + " --train " +
                         sh_quote(tmp_.file(data_name)) + " --out " + sh_quote(tmp_.file("out")) + " --quiet " + extra);
    EXPECT_NE(r.exit_code, 0) << r.out;
    for (auto& n : needles) EXPECT_NE(r.out.find(n), std::string::npos) << "lacks \"" << n << "\": " << r.out;
    EXPECT_FALSE(fs::exists(tmp_.file("out")));
    for (auto& e : fs::directory_iterator(tmp_.path()))
      EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
  }
  test::TempDir tmp_;
};

TEST_F(TrainBadInput, MissingColumnEmptyTextMixedColumns) {
  expect_refused("a.jsonl", "{\"anchor\": \"a\", \"positive\": \"b\"}\n{\"anchor\": \"c\"}\n", "", {"a.jsonl", "line 2", "positive"});
  expect_refused("b.jsonl", "{\"anchor\": \"a\", \"positive\": \"b\"}\n{\"anchor\": \"\", \"positive\": \"d\"}\n", "",
                 {"b.jsonl", "line 2", "empty"});
  expect_refused("c.csv", "anchor,positive\na,b\nc,d,e\n", "", {"c.csv", "line 3"});
  expect_refused("d.jsonl", "{\"anchor\": \"only one column\"}\n", "", {"d.jsonl", "anchor, positive"});
}

TEST_F(TrainBadInput, InvalidAndUnimplementedOptionsAreRefusedClearly) {
  const std::string ok = "{\"anchor\": \"a\", \"positive\": \"b\"}\n{\"anchor\": \"c\", \"positive\": \"d\"}\n";
  expect_refused("e.jsonl", ok, "--dropout 1", {"dropout"});
  expect_refused("f.jsonl", ok, "--precision fp16", {"precision"});
}

}  // namespace
}  // namespace embtune
