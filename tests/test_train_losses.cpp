// `embtune train` with every loss, gradient accumulation, length grouping, evaluation and
// checkpoint pruning, end to end on a tiny model; bad scored data refused before training.
// Not the loss kernels against PyTorch (test_loss_pairs.cpp) or resume (test_train_resume.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "io/safetensors.h"
#include "test_util.h"

namespace embtune {
namespace {

namespace fs = std::filesystem;
using test::run_command;
using test::sh_quote;

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::vector<nlohmann::json> v;
  const std::string text = test::read_text(path);
  for (size_t pos = 0; pos < text.size();) {
    const size_t nl = text.find('\n', pos);
    v.push_back(nlohmann::json::parse(text.substr(pos, nl - pos)));
    pos = nl + 1;
  }
  return v;
}

class TrainLosses : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* w[] = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu"};
    ASSERT_EQ(test::make_tiny_word_model(tmp_.file("base"), std::vector<std::string>(w, w + 12)), "");
    std::mt19937 rng(5);
    auto words = [&](int n) {
      std::string s;
      for (int i = 0; i < n; i++) s += std::string(i ? " " : "") + w[rng() % 12];
      return s;
    };
    std::string pairs, sts, triplets, margins;
    for (int i = 0; i < 24; i++) {
      const std::string a = words(3) + " " + std::to_string(i), p = words(2 + i % 9) + " " + std::to_string(i),
                        n = words(5) + " x" + std::to_string(i);
      pairs += nlohmann::json({{"anchor", a}, {"positive", p}}).dump() + "\n";
      sts += nlohmann::json({{"sentence1", a}, {"sentence2", p}, {"score", (i % 5) / 4.0}}).dump() + "\n";
      triplets += nlohmann::json({{"anchor", a}, {"positive", p}, {"negative", n}}).dump() + "\n";
      margins += nlohmann::json({{"query", a}, {"positive", p}, {"negative", n}, {"label", (i % 7) - 3.0}}).dump() + "\n";
    }
    test::write_text(tmp_.file("pairs.jsonl"), pairs);
    test::write_text(tmp_.file("sts.jsonl"), sts);
    test::write_text(tmp_.file("triplets.jsonl"), triplets);
    test::write_text(tmp_.file("margins.jsonl"), margins);
  }
  test::CommandResult train(const std::string& data, const std::string& out, const std::string& extra) {
    return run_command(bin_ + " train --model " + sh_quote(tmp_.file("base")) + " --train " + sh_quote(tmp_.file(data)) +
                       " --out " + sh_quote(tmp_.file(out)) + " --quiet --dropout 0 --lr 1e-3 --precision fp32 " + extra);
  }
  test::TempDir tmp_;
  std::string bin_ = sh_quote(test::embtune_bin());
};

TEST_F(TrainLosses, EveryLossTrainsAndLowersItsLossOnTheTrainingRows) {
  struct Case {
    const char* loss;
    const char* data;
    const char* extra;
  } cases[] = {{"mnrl", "pairs.jsonl", ""},
               {"mnrl", "triplets.jsonl", "--symmetric"},
               {"cosent", "sts.jsonl", ""},
               {"angle", "sts.jsonl", ""},
               {"triplet", "triplets.jsonl", ""},
               {"triplet", "triplets.jsonl", "--distance cosine --margin 0.5"},
               {"marginmse", "margins.jsonl", ""}};
  for (const Case& c : cases) {
    const std::string out = std::string("out-") + c.loss + std::to_string(&c - cases);
    auto r = train(c.data, out,
                   std::string("--loss ") + c.loss + " --epochs 4 --batch-size 8 --allow-leakage --eval " + sh_quote(tmp_.file(c.data)) +
                       " " + c.extra);
    ASSERT_EQ(r.exit_code, 0) << c.loss << ": " << r.out;
    const auto eval = read_jsonl(tmp_.file(out + "/eval_log.jsonl"));
    ASSERT_EQ(eval.size(), 2u);
    EXPECT_EQ(eval[0]["step"], 0);
    EXPECT_EQ(eval[1]["step"], 12);
    const double before = eval[0]["eval_loss"], after = eval[1]["eval_loss"];
    std::printf("%s %s: loss on the training rows %.4f -> %.4f\n", c.loss, c.extra, before, after);
    EXPECT_LT(after, before) << c.loss << " " << c.extra;
    const std::string card = test::read_text(tmp_.file(out + "/README.md"));
    EXPECT_NE(card.find("| eval_loss |"), std::string::npos) << card;
    const auto log = read_jsonl(tmp_.file(out + "/training_log.jsonl"));
    ASSERT_EQ(log.size(), 12u);
    EXPECT_TRUE(log.back().contains("eval_loss")) << "the last step's line carries its evaluation";
  }
}

TEST_F(TrainLosses, EvalMetricsOfEachKind) {
  auto r = train("pairs.jsonl", "p", "--max-steps 2 --batch-size 8 --allow-leakage --eval " + sh_quote(tmp_.file("pairs.jsonl")) +
                                          " --eval-steps 1");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto eval = read_jsonl(tmp_.file("p/eval_log.jsonl"));
  ASSERT_EQ(eval.size(), 3u);
  for (const char* k : {"eval_loss", "eval_accuracy@1", "eval_recall@10", "eval_mrr@10", "eval_ndcg@10"}) {
    ASSERT_TRUE(eval[2].contains(k)) << k;
    if (std::string(k) != "eval_loss") {
      EXPECT_TRUE(eval[2][k] >= 0.0 && eval[2][k] <= 1.0) << k;
    }
  }
  // Mined (anchor, positive, negative) training rows evaluate on plain (anchor, positive) pairs;
  // evaluation rows with columns the training rows lack are refused, naming both.
  r = train("triplets.jsonl", "t", "--max-steps 1 --batch-size 8 --allow-leakage --eval " + sh_quote(tmp_.file("pairs.jsonl")));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(read_jsonl(tmp_.file("t/eval_log.jsonl"))[1].contains("eval_ndcg@10"));
  r = train("pairs.jsonl", "never", "--max-steps 1 --batch-size 8 --allow-leakage --eval " + sh_quote(tmp_.file("triplets.jsonl")));
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("text columns (anchor, positive, negative) must be the training rows' (anchor, positive)"),
            std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(tmp_.file("never")));
  r = train("sts.jsonl", "s", "--loss cosent --max-steps 1 --batch-size 8 --allow-leakage --eval " + sh_quote(tmp_.file("sts.jsonl")));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto sts = read_jsonl(tmp_.file("s/eval_log.jsonl"));
  EXPECT_TRUE(sts[1].contains("eval_spearman_cosine"));
  EXPECT_TRUE(sts[1].contains("eval_pearson_cosine"));
}

TEST_F(TrainLosses, GradientAccumulationEqualsTheLargerBatchForRowWiseLosses) {
  // TripletLoss is a mean over rows with no in-batch interaction, so 2 micro-batches of 4 make
  // the gradient of one batch of 8 up to rounding.
  auto r = train("triplets.jsonl", "big", "--loss triplet --no-shuffle --max-steps 3 --batch-size 8 --scheduler constant");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  r = train("triplets.jsonl", "acc",
            "--loss triplet --no-shuffle --max-steps 3 --batch-size 4 --gradient-accumulation-steps 2 --scheduler constant");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  // The loss and the gradient's norm of every step agree to rounding; a wrong accumulation (a
  // sum instead of a mean, a micro-batch left out or repeated) changes the norm by a factor or
  // the loss by far more. Weights are not compared: AdamW divides each gradient by its own
  // running size, so entries whose gradient is near zero turn rounding noise into steps of ±lr.
  const auto la = read_jsonl(tmp_.file("big/training_log.jsonl")), lb = read_jsonl(tmp_.file("acc/training_log.jsonl"));
  ASSERT_EQ(la.size(), 3u);
  ASSERT_EQ(lb.size(), 3u);
  for (size_t i = 0; i < la.size(); i++)
    for (const char* k : {"loss", "grad_norm"}) {
      const double x = la[i][k], y = lb[i][k];
      std::printf("step %zu %s: batch 8 %.9g, 2 x 4 accumulated %.9g\n", i + 1, k, x, y);
      EXPECT_NEAR(x, y, 1e-6 * std::fabs(x)) << "step " << i + 1 << " " << k;
    }
}

TEST_F(TrainLosses, GroupByLengthAndCheckpointLimit) {
  auto r = train("pairs.jsonl", "g", "--max-steps 4 --batch-size 4 --group-by-length --save-steps 1 --save-total-limit 2");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::vector<std::string> left;
  for (auto& e : fs::directory_iterator(tmp_.file("g.checkpoints"))) left.push_back(e.path().filename().string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"checkpoint-3", "checkpoint-4"}));
}

// The base model with a sentence-transformers head of max + mean pooling and a Dense layer
// (256 -> 32, Tanh) before Normalize, as a Dense model on the hub is laid out.
void add_dense_head(const std::string& dir) {
  test::write_text(dir + "/1_Pooling/config.json",
                   nlohmann::json({{"word_embedding_dimension", 128}, {"pooling_mode_mean_tokens", true},
                                   {"pooling_mode_max_tokens", true}})
                       .dump());
  fs::create_directories(dir + "/2_Dense");
  test::write_text(dir + "/2_Dense/config.json",
                   nlohmann::json({{"in_features", 256}, {"out_features", 32}, {"bias", true},
                                   {"activation_function", "torch.nn.modules.activation.Tanh"}})
                       .dump());
  std::mt19937 rng(3);
  const std::vector<float> w = test::random_normal(32 * 256, rng, 0.05f), b = test::random_normal(32, rng, 0.05f);
  ASSERT_TRUE(safetensors_write(dir + "/2_Dense/model.safetensors",
                                {{"linear.weight", {32, 256}, w.data(), DType::F32}, {"linear.bias", {32}, b.data(), DType::F32}})
                  .ok());
  nlohmann::json modules = nlohmann::json::parse(test::read_text(dir + "/modules.json"));
  modules[2] = {{"idx", 2}, {"name", "2"}, {"path", "2_Dense"}, {"type", "sentence_transformers.models.Dense"}};
  modules.push_back({{"idx", 3}, {"name", "3"}, {"path", "3_Normalize"}, {"type", "sentence_transformers.models.Normalize"}});
  fs::rename(dir + "/2_Normalize", dir + "/3_Normalize");
  test::write_text(dir + "/modules.json", modules.dump(2));
}

TEST_F(TrainLosses, DenseHeadAndMaxPoolingTrainSaveAndResume) {
  add_dense_head(tmp_.file("base"));
  if (HasFatalFailure()) return;
  const std::string flags = "--loss mnrl --max-steps 6 --batch-size 4 --seed 2 --allow-leakage --eval " + sh_quote(tmp_.file("pairs.jsonl"));
  auto r = train("pairs.jsonl", "dense", flags);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto eval = read_jsonl(tmp_.file("dense/eval_log.jsonl"));
  EXPECT_LT(eval.back()["eval_loss"].get<double>(), eval.front()["eval_loss"].get<double>());
  // The Dense layer was trained and written where sentence-transformers reads it.
  SafetensorsFile before, after;
  ASSERT_TRUE(before.open(tmp_.file("base/2_Dense/model.safetensors")).ok());
  ASSERT_TRUE(after.open(tmp_.file("dense/2_Dense/model.safetensors")).ok());
  for (const char* name : {"linear.weight", "linear.bias"}) {
    const TensorView *a = before.find(name), *b = after.find(name);
    ASSERT_TRUE(a && b) << name;
    EXPECT_EQ(a->shape, b->shape);
    std::vector<float> x(a->numel()), y(b->numel());
    ASSERT_TRUE(tensor_to_f32(*a, x.data()).ok());
    ASSERT_TRUE(tensor_to_f32(*b, y.data()).ok());
    EXPECT_NE(x, y) << name << " did not change";
  }
  EXPECT_EQ(test::read_text(tmp_.file("dense/modules.json")), test::read_text(tmp_.file("base/modules.json")));
  // It embeds at the Dense layer's width.
  test::write_text(tmp_.file("texts.txt"), "alpha beta\ngamma 3\n");
  r = run_command(bin_ + " embed --model " + sh_quote(tmp_.file("dense")) + " --input " + sh_quote(tmp_.file("texts.txt")) +
                  " --output " + sh_quote(tmp_.file("e.jsonl")) + " --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(read_jsonl(tmp_.file("e.jsonl"))[0].size(), 32u);
  // A run split by a checkpoint ends where the unbroken one does: the head's weights and moments resume too.
  r = train("pairs.jsonl", "split", flags + " --stop-after 3");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(fs::exists(tmp_.file("split.checkpoints/checkpoint-3/head.safetensors")));
  r = train("pairs.jsonl", "split", flags + " --resume");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(test::read_text(tmp_.file("dense/model.safetensors")), test::read_text(tmp_.file("split/model.safetensors")));
  EXPECT_EQ(test::read_text(tmp_.file("dense/2_Dense/model.safetensors")),
            test::read_text(tmp_.file("split/2_Dense/model.safetensors")));
}

TEST_F(TrainLosses, PromptsReachTrainingAsTheyReachInference) {
  // Before its first step a run evaluates its own rows with the inference path (prompts as
  // SentenceEncoder applies them); with dropout off, one batch of all rows in file order, that
  // loss and the first training step's loss (the training tokenization, packing and pooling
  // with prompt tokens left out) are the same number up to summation order.
  const std::string base = tmp_.file("base");
  nlohmann::json st = nlohmann::json::parse(test::read_text(base + "/config_sentence_transformers.json"));
  st["prompts"] = {{"query", "query: "}, {"passage", "passage: "}};
  test::write_text(base + "/config_sentence_transformers.json", st.dump());
  nlohmann::json pool = nlohmann::json::parse(test::read_text(base + "/1_Pooling/config.json"));
  pool["include_prompt"] = false;
  test::write_text(base + "/1_Pooling/config.json", pool.dump());
  struct Case {
    const char* name;
    const char* flags;
  } cases[] = {{"none", ""},
               {"name", "--prompt query"},
               {"text", "--prompt-text 'query: '"},
               {"literal", "--prompt 'question: '"},
               {"columns", "--prompt query --column-prompt positive=passage"},
               {"column-text", "--column-prompt 'positive=passage: ' --column-prompt 'anchor=query: '"}};
  std::map<std::string, double> first_loss;
  for (const Case& c : cases) {
    const std::string out = std::string("prompt-") + c.name;
    auto r = train("pairs.jsonl", out,
                   std::string("--max-steps 1 --batch-size 24 --no-shuffle --allow-leakage --eval ") + sh_quote(tmp_.file("pairs.jsonl")) +
                       " " + c.flags);
    ASSERT_EQ(r.exit_code, 0) << c.name << ": " << r.out;
    const double train_loss = read_jsonl(tmp_.file(out + "/training_log.jsonl"))[0]["loss"];
    const double eval_loss = read_jsonl(tmp_.file(out + "/eval_log.jsonl"))[0]["eval_loss"];
    EXPECT_NEAR(train_loss, eval_loss, 1e-5 * eval_loss) << c.name;
    first_loss[c.name] = train_loss;
  }
  // A prompt name and its text are the same prompt; a column prompt changes that column.
  EXPECT_EQ(first_loss["name"], first_loss["text"]);
  EXPECT_EQ(first_loss["columns"], first_loss["column-text"]);
  EXPECT_NE(first_loss["none"], first_loss["name"]);
  EXPECT_NE(first_loss["name"], first_loss["literal"]);
  EXPECT_NE(first_loss["name"], first_loss["columns"]);
  auto r = train("pairs.jsonl", "bad", "--max-steps 1 --column-prompt nosuch=x");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("--column-prompt"), std::string::npos) << r.out;
}

TEST_F(TrainLosses, EarlyStoppingAndTheBestWeights) {
  const std::string eval = " --allow-leakage --eval " + sh_quote(tmp_.file("pairs.jsonl")) + " --eval-steps 1";
  // accuracy@1 on 24 rows stops rising once it reaches 1 (or stalls before): with patience 2 the
  // run ends two evaluations after its best, long before 200 steps.
  auto r = train("pairs.jsonl", "early", "--max-steps 200 --batch-size 8" + eval +
                                            " --metric-for-best eval_accuracy@1 --early-stopping-patience 2");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto log = read_jsonl(tmp_.file("early/training_log.jsonl"));
  const auto evals = read_jsonl(tmp_.file("early/eval_log.jsonl"));
  ASSERT_LT(log.size(), 200u);
  EXPECT_TRUE(log.back().value("early_stop", false));
  size_t best = 0;
  for (size_t i = 0; i < evals.size(); i++)
    if (evals[i]["eval_accuracy@1"].get<double>() > evals[best]["eval_accuracy@1"].get<double>()) best = i;
  EXPECT_EQ(evals.size() - 1 - best, 2u) << "stops after exactly `patience` evaluations without a new best";

  // --load-best-model-at-end: the written weights are those of the lowest eval_loss; a run that
  // starts from them evaluates (before its first step) to that very loss.
  r = train("pairs.jsonl", "best", "--max-steps 10 --batch-size 8" + eval + " --load-best-model-at-end");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  double lowest = 1e300;
  for (const auto& e : read_jsonl(tmp_.file("best/eval_log.jsonl"))) lowest = std::min(lowest, e["eval_loss"].get<double>());
  r = run_command(bin_ + " train --model " + sh_quote(tmp_.file("best")) + " --train " + sh_quote(tmp_.file("pairs.jsonl")) +
                  " --out " + sh_quote(tmp_.file("again")) + " --quiet --dropout 0 --max-steps 1 --batch-size 8" +
                  " --precision fp32" + eval);  // as train() runs: bf16, the default where the CPU has it, rounds otherwise
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NEAR(read_jsonl(tmp_.file("again/eval_log.jsonl"))[0]["eval_loss"].get<double>(), lowest, 1e-9 * lowest);

  r = train("pairs.jsonl", "bad", "--max-steps 2 --early-stopping-patience 1");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("need --eval"), std::string::npos) << r.out;
  r = train("pairs.jsonl", "bad", "--max-steps 2 --metric-for-best eval_nothing --load-best-model-at-end" + eval);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("eval_nothing"), std::string::npos) << r.out;
}

TEST_F(TrainLosses, ScoredAndTripletDataIsChecked) {
  struct Case {
    const char* name;
    const char* data;
    const char* extra;
    std::vector<std::string> needles;
  } cases[] = {
      {"s1.jsonl", "{\"sentence1\": \"a\", \"sentence2\": \"b\", \"score\": 0.5}\n{\"sentence1\": \"c\", \"sentence2\": \"d\", \"score\": 3}\n",
       "--loss cosent", {"s1.jsonl", "line 2", "outside"}},
      {"s2.jsonl", "{\"sentence1\": \"a\", \"sentence2\": \"b\"}\n", "--loss angle", {"s2.jsonl", "score"}},
      {"s3.jsonl", "{\"sentence1\": \"a\", \"sentence2\": \"b\", \"score\": \"high\"}\n", "--loss cosent", {"s3.jsonl", "line 1", "number"}},
      {"s4.csv", "sentence1,sentence2,score\na,b,0.1\nc,d,\n", "--loss cosent", {"s4.csv", "line 3"}},
      {"t1.jsonl", "{\"anchor\": \"a\", \"positive\": \"b\"}\n", "--loss triplet", {"t1.jsonl", "(anchor, positive, negative)"}},
      {"m1.jsonl", "{\"query\": \"a\", \"positive\": \"b\", \"negative\": \"c\"}\n", "--loss marginmse", {"m1.jsonl", "score"}},
      {"x.jsonl", "{\"anchor\": \"a\", \"positive\": \"b\"}\n", "--loss cosent --symmetric", {"--symmetric"}},
  };
  for (const Case& c : cases) {
    test::write_text(tmp_.file(c.name), c.data);
    auto r = train(c.name, "never", std::string("--max-steps 1 ") + c.extra);
    EXPECT_NE(r.exit_code, 0) << c.name;
    for (const std::string& n : c.needles) EXPECT_NE(r.out.find(n), std::string::npos) << c.name << " lacks " << n << ": " << r.out;
    EXPECT_FALSE(fs::exists(tmp_.file("never")));
  }
  // A wider score range is accepted when asked for.
  auto r = train("s1.jsonl", "wide", "--max-steps 1 --loss cosent --score-min 0 --score-max 5");
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

}  // namespace
}  // namespace embtune
