// `embtune check-leakage` end to end: planted exact and near duplicates reported with file:line,
// clean data exiting 0, bad input naming file and line, and the --json shape. Not the LSH maths
// (test_near_duplicate).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

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

}  // namespace
}  // namespace embtune
