// `embtune check-leakage` end to end: planted exact and near duplicates reported with file:line,
// clean data exiting 0, bad input naming file and line, and the --json shape. Not the LSH maths
// (test_near_duplicate).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "test_util.h"

namespace embtune {
namespace {

using test::run_command;
using test::sh_quote;

std::string bin() { return sh_quote(test::embtune_bin()); }

std::string check(const std::string& train, const std::string& eval, const std::string& extra = "") {
  return bin() + " check-leakage --train " + sh_quote(train) + " --eval " + sh_quote(eval) + " " + extra;
}

// 40 distinct words; `changed` replaces word 20 (Jaccard 35/41 of 3-word shingles).
std::string long_text(const std::string& changed = "") {
  std::string s;
  for (int i = 0; i < 40; ++i) s += (i ? " " : "") + (i == 20 && !changed.empty() ? changed : "word" + std::to_string(i));
  return s;
}

struct Files {
  test::TempDir tmp;
  std::string train = tmp.file("train.jsonl"), eval = tmp.file("eval.jsonl");
  Files() {
    test::write_text(train,
                     "{\"anchor\": \"how do plants make food\", \"positive\": \"photosynthesis turns light into sugar\"}\n"
                     "\n"
                     "{\"anchor\": \"what is the capital of france\", \"positive\": \"paris is the capital\", "
                     "\"negatives\": [\"berlin is in germany\", \"" + long_text() + "\"], \"score\": 1}\n");
  }
};

TEST(CheckLeakage, PlantedExactAndNearDuplicatesWithFileAndLine) {
  Files f;
  test::write_text(f.eval, "{\"query\": \"who wrote hamlet\", \"text\": \"shakespeare wrote it around 1600\"}\n"
                           "{\"query\": \"What is the  Capital of FRANCE?\", \"text\": \"unrelated passage about rivers\"}\n"
                           "{\"query\": \"a third query\", \"text\": \"" + long_text("different") + "\"}\n");
  auto r = run_command(check(f.train, f.eval));
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_NE(r.out.find("exact duplicates: 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("near duplicates (Jaccard >= 0.80 of 3-word shingles): 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(f.train + ":3  " + f.eval + ":2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("near  0.854  " + f.train + ":3  " + f.eval + ":3"), std::string::npos) << r.out;

  r = run_command(check(f.train, f.eval, "--json"));
  EXPECT_EQ(r.exit_code, 3) << r.out;
  const nlohmann::json j = test::last_json_line(r.out);
  EXPECT_EQ(j["exact"], 1);
  EXPECT_EQ(j["near"], 1);
  EXPECT_EQ(j["eval_texts_leaked"], 2);
  EXPECT_EQ(j["eval_rows_leaked"], 2);
  EXPECT_EQ(j["train_texts"], 6);
  EXPECT_EQ(j["eval_texts"], 6);
  EXPECT_EQ(j["eval_rows"], 3);
  ASSERT_EQ(j["examples"].size(), 2u);
  const auto& exact = j["examples"][0];
  EXPECT_EQ(exact["kind"], "exact");
  EXPECT_EQ(exact["jaccard"], 1.0);
  EXPECT_EQ(exact["train"]["file"], f.train);
  EXPECT_EQ(exact["train"]["line"], 3);
  EXPECT_EQ(exact["train"]["text"], "what is the capital of france");
  EXPECT_EQ(exact["eval"]["file"], f.eval);
  EXPECT_EQ(exact["eval"]["line"], 2);
  EXPECT_EQ(exact["eval"]["text"], "What is the  Capital of FRANCE?");
  const auto& near = j["examples"][1];
  EXPECT_EQ(near["kind"], "near");
  EXPECT_DOUBLE_EQ(near["jaccard"].get<double>(), 35.0 / 41.0);
  EXPECT_EQ(near["train"]["line"], 3);
  EXPECT_EQ(near["eval"]["line"], 3);

  // A stricter threshold leaves the exact duplicate only; --max-examples 0 prints none.
  r = run_command(check(f.train, f.eval, "--json --threshold 0.9 --max-examples 0"));
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_EQ(test::last_json_line(r.out)["near"], 0);
  EXPECT_EQ(test::last_json_line(r.out)["examples"].size(), 0u);
  // Only the named fields count.
  r = run_command(check(f.train, f.eval, "--json --fields positive,text"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

TEST(CheckLeakage, CleanDataExitsZero) {
  Files f;
  test::write_text(f.eval, "{\"query\": \"who wrote hamlet\", \"text\": \"shakespeare wrote it around 1600\"}\n");
  auto r = run_command(check(f.train, f.eval));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("no leakage found"), std::string::npos) << r.out;
  r = run_command(check(f.train, f.eval, "--json"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  const nlohmann::json j = test::last_json_line(r.out);
  EXPECT_EQ(j["exact"], 0);
  EXPECT_EQ(j["near"], 0);
  EXPECT_EQ(j["eval_texts_leaked"], 0);
  EXPECT_TRUE(j["examples"].is_array());
}

TEST(CheckLeakage, TsvAndPlainTextFiles) {
  test::TempDir tmp;
  const std::string train = tmp.file("train.tsv"), eval = tmp.file("eval.txt");
  test::write_text(train, "sentence1\tsentence2\tscore\nthe cat sat\tthe dog ran\t1\na bird flew\t\"a fish, swam\"\t0\n");
  // The score column is not a text: the "1" line leaks nothing.
  test::write_text(eval, "1\nsomething else entirely\n\nA FISH SWAM\n");
  auto r = run_command(check(train, eval, "--json"));
  EXPECT_EQ(r.exit_code, 3) << r.out;
  const nlohmann::json j = test::last_json_line(r.out);
  EXPECT_EQ(j["exact"], 1);
  EXPECT_EQ(j["examples"][0]["train"]["line"], 3);
  EXPECT_EQ(j["examples"][0]["eval"]["line"], 4);
  // --min-words drops short texts.
  r = run_command(check(train, eval, "--json --min-words 4"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
}

TEST(CheckLeakage, BadInputNamesFileAndLine) {
  Files f;
  test::write_text(f.eval, "{\"query\": \"fine\"}\n{\"query\": \"broken\n");
  auto r = run_command(check(f.train, f.eval));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find(f.eval + ": line 2: invalid JSON"), std::string::npos) << r.out;

  test::write_text(f.eval, "{\"query\": \"fine\"}\n[\"an array\"]\n");
  r = run_command(check(f.train, f.eval));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find(f.eval + ": line 2: not a JSON object"), std::string::npos) << r.out;

  test::write_text(f.eval, "{\"query\": \"fine\"}\n\n{\"query\": \"bad \xFF byte\"}\n");
  r = run_command(check(f.train, f.eval));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find(f.eval + ": line 3: invalid UTF-8"), std::string::npos) << r.out;

  r = run_command(check(f.train, f.tmp.file("missing.jsonl")));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("missing.jsonl"), std::string::npos) << r.out;

  r = run_command(check(f.train, f.train, "--threshold 0"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("--threshold"), std::string::npos) << r.out;
}

// --model: an evaluation text is a semantic duplicate when its nearest training text by the
// model's cosine reaches --cosine-threshold and it is not already an exact or near duplicate.
// Checked against a brute-force nearest neighbour over `embtune embed`'s embeddings of the same
// texts, at a threshold that splits the evaluation texts.
TEST(CheckLeakage, SemanticDuplicatesByModelCosineMatchBruteForce) {
  test::TempDir tmp;
  const std::vector<std::string> words = {"river", "bank", "money", "loan", "water", "fish", "boat", "stone",
                                          "tree", "leaf", "green", "light", "dark", "cloud", "rain", "storm"};
  ASSERT_EQ(test::make_tiny_word_model(tmp.file("model"), words), "");
  std::mt19937 rng(11);
  auto sentence = [&](int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += (i ? " " : "") + words[rng() % words.size()];
    return s;
  };
  std::vector<std::string> train, eval;
  for (int i = 0; i < 30; ++i) train.push_back(sentence(6));
  for (int i = 0; i < 20; ++i) eval.push_back(sentence(6));
  eval.push_back(train[3]);  // an exact duplicate: reported as exact, never as semantic
  std::string tt, et;
  for (const auto& t : train) tt += t + "\n";
  for (const auto& t : eval) et += t + "\n";
  test::write_text(tmp.file("train.txt"), tt);
  test::write_text(tmp.file("eval.txt"), et);
  for (const char* side : {"train", "eval"}) {
    auto r = run_command(bin() + " embed --model " + sh_quote(tmp.file("model")) + " --input " +
                         sh_quote(tmp.file(std::string(side) + ".txt")) + " --output " +
                         sh_quote(tmp.file(std::string(side) + "-emb.jsonl")) + " --quiet");
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  auto read_rows = [&](const std::string& path) {
    std::vector<std::vector<double>> rows;
    std::istringstream in(test::read_text(path));
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) rows.push_back(nlohmann::json::parse(line).get<std::vector<double>>());
    return rows;
  };
  const auto te = read_rows(tmp.file("train-emb.jsonl")), ee = read_rows(tmp.file("eval-emb.jsonl"));
  ASSERT_EQ(te.size(), train.size());
  ASSERT_EQ(ee.size(), eval.size());
  auto cosine = [](const std::vector<double>& a, const std::vector<double>& b) {
    double d = 0, na = 0, nb = 0;
    for (size_t i = 0; i < a.size(); ++i) d += a[i] * b[i], na += a[i] * a[i], nb += b[i] * b[i];
    return d / std::sqrt(na * nb);
  };
  std::vector<double> best(eval.size() - 1);  // the planted exact duplicate left out
  for (size_t e = 0; e + 1 < eval.size(); ++e) {
    best[e] = -1;
    for (const auto& t : te) best[e] = std::max(best[e], cosine(ee[e], t));
  }
  std::vector<double> sorted = best;
  std::sort(sorted.begin(), sorted.end());
  // Halfway between two neighbouring maxima, so float rounding cannot move a text across it.
  const double threshold = 0.5 * (sorted[sorted.size() / 2 - 1] + sorted[sorted.size() / 2]);
  ASSERT_LT(sorted[sorted.size() / 2 - 1] + 1e-5, sorted[sorted.size() / 2]);
  std::set<int64_t> expected;
  for (size_t e = 0; e < best.size(); ++e)
    if (best[e] >= threshold) expected.insert(static_cast<int64_t>(e) + 1);

  // --threshold 1: near duplicates only when every shingle agrees (random sentences have none).
  auto r = run_command(check(tmp.file("train.txt"), tmp.file("eval.txt"),
                             "--threshold 1 --json --no-cache --max-examples 100 --model " + sh_quote(tmp.file("model")) +
                                 " --cosine-threshold " + std::to_string(threshold)));
  EXPECT_EQ(r.exit_code, 3) << r.out;
  const auto j = test::last_json_line(r.out);
  EXPECT_EQ(j["exact"], 1);
  EXPECT_EQ(j["semantic"], expected.size());
  std::set<int64_t> found;
  for (const auto& ex : j["examples"]) {
    if (ex["kind"] != "semantic") continue;
    found.insert(ex["eval"]["line"].get<int64_t>());
    EXPECT_GE(ex["cosine"].get<double>(), threshold);
    EXPECT_NEAR(ex["cosine"].get<double>(), best[ex["eval"]["line"].get<size_t>() - 1], 1e-5);
  }
  EXPECT_EQ(found, expected);

  // Without --model there is no semantic check; a bad --cosine-threshold is refused.
  r = run_command(check(tmp.file("train.txt"), tmp.file("eval.txt"), "--threshold 1 --json"));
  EXPECT_EQ(test::last_json_line(r.out)["semantic"], 0);
  r = run_command(check(tmp.file("train.txt"), tmp.file("eval.txt"), "--cosine-threshold 1.5 --model " + sh_quote(tmp.file("model"))));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("--cosine-threshold 1.5"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace embtune
