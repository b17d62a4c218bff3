// `embtune train --test`: the base model, the trained model and BM25 compared on a test set at the
// end of a run (report.json, report.html, the model card), and bad test data refused before training.
// Not the comparison's statistics (test_compare.cpp) nor `embtune eval` (test_eval_report.cpp).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "test_util.h"

namespace embtune {
namespace {

namespace fs = std::filesystem;
using test::run_command;
using test::sh_quote;

class TrainTestReport : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(test::make_tiny_word_model(tmp_.file("base"), std::vector<std::string>(words_, words_ + 16)), "");
    // Each query names a topic word and a number; its passage repeats them among other words.
    std::mt19937 rng(5);
    auto rows = [&](int from, int n) {
      std::string out;
      for (int i = from; i < from + n; i++) {
        const std::string topic = words_[i % 16], other = words_[(i * 7 + 3) % 16];
        out += nlohmann::json({{"anchor", topic + " " + std::to_string(i % 10)},
                               {"positive", other + " " + topic + " " + std::to_string(i % 10) + " " + words_[rng() % 16]}})
                   .dump() +
               "\n";
      }
      return out;
    };
    test::write_text(tmp_.file("train.jsonl"), rows(0, 48));
    test::write_text(tmp_.file("test.jsonl"), rows(100, 20));
  }
  test::CommandResult train(const std::string& out, const std::string& extra) {
    return run_command(sh_quote(test::embtune_bin()) + " train --model " + sh_quote(tmp_.file("base")) + " --train " +
                       sh_quote(tmp_.file("train.jsonl")) + " --out " + sh_quote(out) +
                       " --batch-size 8 --max-steps 30 --lr 1e-3 --quiet " + extra);
  }
  // The tiny vocabulary makes test queries repeat training ones: the firewall is told to allow it.
  test::CommandResult train_leaky(const std::string& out, const std::string& extra) {
    return train(out, "--allow-leakage " + extra);
  }
  const char* words_[16] = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta",
                            "iota", "kappa", "lambda", "mu", "nu", "xi", "omicron", "pi"};
  test::TempDir tmp_;
};

TEST_F(TrainTestReport, PairsTestSetComparesBaseTunedAndBm25) {
  auto r = train_leaky(tmp_.file("out"), "--test " + sh_quote(tmp_.file("test.jsonl")));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const nlohmann::json report = nlohmann::json::parse(test::read_text(tmp_.file("out/test_report/report.json")));
  ASSERT_EQ(report["systems"].size(), 3u);
  EXPECT_EQ(report["systems"][0]["name"], "base");
  EXPECT_EQ(report["systems"][1]["name"], "tuned");
  EXPECT_EQ(report["systems"][2]["name"], "bm25");
  EXPECT_EQ(report["baseline"], "base");
  EXPECT_EQ(report["queries"], 20);
  ASSERT_EQ(report["differences"].size(), 2u);
  const nlohmann::json& d = report["differences"][0]["metrics"]["ndcg@10"];
  EXPECT_LE(d["ci"][0].get<double>(), d["mean"].get<double>());
  EXPECT_GE(d["ci"][1].get<double>(), d["mean"].get<double>());
  EXPECT_GT(d["p_value"].get<double>(), 0.0);
  // The trained model as `embtune eval` scores it over the same pairs: the report's mean.
  r = run_command(sh_quote(test::embtune_bin()) + " eval --pairs " + sh_quote(tmp_.file("test.jsonl")) + " --model " +
                  sh_quote(tmp_.file("out")) + " --no-cache --json --quiet");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const nlohmann::json direct = test::last_json_line(r.out);
  EXPECT_NEAR(direct["ndcg@10"].get<double>(), report["systems"][1]["metrics"]["ndcg@10"]["mean"].get<double>(), 1e-6);
  EXPECT_NE(test::read_text(tmp_.file("out/test_report/report.html")).find("<svg"), std::string::npos);
  const std::string card = test::read_text(tmp_.file("out/README.md"));
  EXPECT_NE(card.find("### Test set `test.jsonl` (20 queries)"), std::string::npos) << card;
  EXPECT_NE(card.find("tuned − base"), std::string::npos) << card;
}

TEST_F(TrainTestReport, BeirTestSetAndTheBestWeights) {
  // The same test rows as a BEIR folder with a "dev" split.
  const std::string dir = tmp_.file("beir");
  fs::create_directories(dir + "/qrels");
  std::string corpus, queries, qrels = "query-id\tcorpus-id\tscore\n";
  int i = 0;
  for (const std::string& line : {std::string("alpha 1"), std::string("beta 2"), std::string("gamma 3")}) {
    const std::string id = std::to_string(i++);
    corpus += nlohmann::json({{"_id", "d" + id}, {"text", "eta " + line + " mu"}}).dump() + "\n";
    queries += nlohmann::json({{"_id", "q" + id}, {"text", line}}).dump() + "\n";
    qrels += "q" + id + "\td" + id + "\t2\n";
  }
  test::write_text(dir + "/corpus.jsonl", corpus);
  test::write_text(dir + "/queries.jsonl", queries);
  test::write_text(dir + "/qrels/dev.tsv", qrels);
  auto r = train_leaky(tmp_.file("out"), "--test " + sh_quote(dir) + " --test-split dev --eval " + sh_quote(tmp_.file("test.jsonl")) +
                                       " --eval-steps 10 --load-best-model-at-end");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const nlohmann::json report = nlohmann::json::parse(test::read_text(tmp_.file("out/test_report/report.json")));
  EXPECT_EQ(report["queries"], 3);
  EXPECT_EQ(report["systems"][1]["name"].get<std::string>().rfind("best-step-", 0), 0u) << report["systems"][1]["name"];
}

TEST_F(TrainTestReport, BadTestDataFailsBeforeTraining) {
  test::write_text(tmp_.file("bad.jsonl"), "{\"anchor\": \"alpha\", \"positive\": \"beta\"}\n{\"anchor\": \"gamma\"}\n");
  auto r = train(tmp_.file("out"), "--test " + sh_quote(tmp_.file("bad.jsonl")));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("bad.jsonl"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("line 2"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(tmp_.file("out")));
  EXPECT_FALSE(fs::exists(tmp_.file("out.checkpoints")));
  r = train(tmp_.file("out"), "--test " + sh_quote(tmp_.file("beir-missing")) + "/");
  EXPECT_NE(r.exit_code, 0);
  r = train(tmp_.file("out"), "--test " + sh_quote(tmp_.file("test.jsonl")) + " --test-corpus " + sh_quote(tmp_.file("none.jsonl")));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("none.jsonl"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(tmp_.file("out")));
}

// The firewall: test or eval texts that duplicate training texts stop the run before the model
// loads, naming both files and lines; --allow-leakage turns that into a warning.
TEST_F(TrainTestReport, LeakedEvaluationDataStopsTheRun) {
  auto r = train(tmp_.file("out"), "--test " + sh_quote(tmp_.file("test.jsonl")));
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("--test " + tmp_.file("test.jsonl") + " leaks"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("exact 1.000  " + tmp_.file("train.jsonl") + ":"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--allow-leakage"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(tmp_.file("out")));

  // An evaluation file that is the training file: every row leaks.
  r = train(tmp_.file("out"), "--eval " + sh_quote(tmp_.file("train.jsonl")));
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("--eval " + tmp_.file("train.jsonl") + " leaks"), std::string::npos) << r.out;

  // Disjoint data passes and says so; --allow-leakage warns and trains.
  std::string clean;
  for (int i = 0; i < 10; i++)
    clean += nlohmann::json({{"anchor", "zzq" + std::to_string(i) + " unseen words here"},
                             {"positive", "completely different passage number " + std::to_string(1000 + i)}})
                 .dump() +
             "\n";
  test::write_text(tmp_.file("clean.jsonl"), clean);
  r = run_command(sh_quote(test::embtune_bin()) + " train --model " + sh_quote(tmp_.file("base")) + " --train " +
                  sh_quote(tmp_.file("train.jsonl")) + " --out " + sh_quote(tmp_.file("out-clean")) +
                  " --batch-size 8 --max-steps 1 --eval " + sh_quote(tmp_.file("clean.jsonl")));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("no leakage between"), std::string::npos) << r.out;
  r = run_command(sh_quote(test::embtune_bin()) + " train --model " + sh_quote(tmp_.file("base")) + " --train " +
                  sh_quote(tmp_.file("train.jsonl")) + " --out " + sh_quote(tmp_.file("out-allowed")) +
                  " --batch-size 8 --max-steps 1 --allow-leakage --eval " + sh_quote(tmp_.file("train.jsonl")));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("warning (--allow-leakage)"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace embtune
