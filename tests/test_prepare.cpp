// `embtune prepare` end to end: every problem kind counted with file:line examples, nothing written
// on errors, grouped splits that never put a query, passage, near duplicate or source document on
// two sides, seeded repeatable splits, over-long counts against a tokenizer, the leakage check.
// Not the near-duplicate maths (test_near_duplicate) nor the training reader (test_training_data).
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "test_util.h"

namespace embtune {
namespace {

namespace fs = std::filesystem;
using test::run_command;
using test::sh_quote;

std::string bin() { return sh_quote(test::embtune_bin()); }

std::string prepare(const std::string& inputs, const std::string& out, const std::string& extra = "") {
  return bin() + " prepare " + inputs + " --out " + sh_quote(out) + " " + extra;
}

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::vector<nlohmann::json> rows;
  std::istringstream in(test::read_text(path));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

// `n` distinct random words from a vocabulary of made-up words, so texts share few shingles by chance.
std::string words(std::mt19937& rng, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += (i ? " " : "") + std::string("w") + std::to_string(rng() % 100000);
  return s;
}

TEST(Prepare, EveryProblemIsCountedWithExamplesAndErrorsWriteNothing) {
  test::TempDir tmp;
  std::string data;
  data += R"({"anchor": "what is a cat", "positive": "a cat is a small animal kept as a pet"})" "\n";  // 1
  data += R"({"anchor": "what is a dog", "positive": "a dog is a loyal animal"})" "\n";               // 2
  data += R"({"anchor": "what is a cat", "positive": "a cat is a small animal kept as a pet"})" "\n";  // 3 duplicate of 1
  data += "\n";                                                                                        // 4 blank
  data += R"({"anchor": "  spaced\tout   query ", "positive": "a passage\nwith a newline"})" "\n";     // 5 whitespace
  data += R"({"anchor": "   ", "positive": "orphan passage"})" "\n";                                   // 6 empty text
  data += R"({"anchor": 7, "positive": "number anchor"})" "\n";                                        // 7 not a string
  data += R"({"anchor": "no positive"})" "\n";                                                         // 8 missing column
  data += "{\"anchor\": \"bad \xFF byte\", \"positive\": \"x\"}\n";                                    // 9 invalid UTF-8
  data += "not json at all\n";                                                                         // 10 invalid JSON
  data += R"({"anchor": "what is a cat", "positive": "cats purr", "note": "extra"})" "\n";             // 11 2nd positive, extra
  test::write_text(tmp.file("pairs.jsonl"), data);

  auto r = run_command(prepare("--input " + sh_quote(tmp.file("pairs.jsonl")), tmp.file("out"), "--json"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("4 rows with errors"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--drop-invalid"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(tmp.file("out")));
  auto j = test::last_json_line(r.out);
  const auto& p = j["problems"];
  const std::string f = tmp.file("pairs.jsonl");
  auto expect = [&](const char* kind, int count, int first_line, const char* action) {
    ASSERT_TRUE(p.contains(kind)) << kind << "\n" << r.out;
    EXPECT_EQ(p[kind]["count"], count) << kind;
    EXPECT_EQ(p[kind]["action"], action) << kind;
    EXPECT_EQ(p[kind]["examples"][0]["file"], f) << kind;
    EXPECT_EQ(p[kind]["examples"][0]["line"], first_line) << kind;
  };
  expect("duplicate_pair", 1, 3, "dropped");
  expect("blank_line", 1, 4, "skipped");
  expect("whitespace_normalised", 2, 5, "fixed");
  expect("empty_text", 1, 6, "dropped");
  expect("not_string", 1, 7, "error");
  expect("missing_column", 1, 8, "error");
  expect("invalid_utf8", 1, 9, "error");
  expect("invalid_json", 1, 10, "error");
  expect("extra_column", 1, 11, "ignored");
  expect("many_positives", 1, 1, "kept");
  EXPECT_EQ(p["duplicate_pair"]["examples"][0]["detail"], "same as " + f + ":1");
  EXPECT_EQ(j["rows_read"], 10);
  EXPECT_EQ(j["rows_invalid"], 4);
  EXPECT_EQ(j["rows_written"], 4);  // 1, 2, 5, 11
  EXPECT_TRUE(j["too_long"].is_null());
  // The terminal report names each problem with its count and the first example's file:line.
  EXPECT_NE(r.out.find("invalid_utf8"), std::string::npos);
  EXPECT_NE(r.out.find(f + ":9"), std::string::npos) << r.out;

  // --drop-invalid writes the rest, whitespace normalised; every written row comes from the input.
  r = run_command(prepare("--input " + sh_quote(f), tmp.file("out"), "--drop-invalid --split 1,0,0 --json"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(test::last_json_line(r.out)["problems"]["invalid_json"]["action"], "dropped");
  const auto train = read_jsonl(tmp.file("out/train.jsonl"));
  ASSERT_EQ(train.size(), 4u);
  EXPECT_EQ(train[2]["anchor"], "spaced out query");
  EXPECT_EQ(train[2]["positive"], "a passage with a newline");
  EXPECT_EQ(train[3], nlohmann::json({{"anchor", "what is a cat"}, {"positive", "cats purr"}}));
  EXPECT_FALSE(fs::exists(tmp.file("out/validation.jsonl")));
  const auto report = nlohmann::json::parse(test::read_text(tmp.file("out/prepare_report.json")));
  EXPECT_EQ(report["rows_written"], 4);

  // A non-empty output directory, a file of unknown format, no text columns, bad --split.
  r = run_command(prepare("--input " + sh_quote(f), tmp.file("out"), "--drop-invalid"));
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("already exists and is not empty"), std::string::npos) << r.out;
  test::write_text(tmp.file("pairs.txt"), "a\nb\n");
  r = run_command(prepare("--input " + sh_quote(tmp.file("pairs.txt")), tmp.file("o2")));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("unknown format"), std::string::npos) << r.out;
  test::write_text(tmp.file("one.jsonl"), R"({"text": "only one text column"})" "\n");
  r = run_command(prepare("--input " + sh_quote(tmp.file("one.jsonl")), tmp.file("o2")));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("1 text column(s)"), std::string::npos) << r.out;
  r = run_command(prepare("--input " + sh_quote(f), tmp.file("o2"), "--split 0.5,0.5"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_FALSE(fs::exists(tmp.file("o2")));
}

// Planted clusters — one passage with three queries, one query with three passages, three near
// duplicates of one passage (one word in 40 changed), four rows of one source document — must
// each land on one side, whatever the seed; the splits hold exactly the input rows, are
// repeatable, follow the fractions, and pass check-leakage against each other.
TEST(Prepare, SplitsKeepQueriesPassagesNearDuplicatesAndSourcesTogether) {
  test::TempDir tmp;
  std::mt19937 rng(3);
  std::vector<nlohmann::json> rows;
  std::vector<std::vector<std::string>> clusters;  // anchors of rows that must stay together
  auto add = [&](const std::string& a, const std::string& p, const std::string& source = "") {
    nlohmann::json row = {{"anchor", a}, {"positive", p}};
    if (!source.empty()) row["source"] = source;
    rows.push_back(row);
  };
  for (int c = 0; c < 10; ++c) {
    std::vector<std::string> cl;
    const std::string passage = words(rng, 40);
    for (int i = 0; i < 3; ++i) cl.push_back(words(rng, 6)), add(cl.back(), passage);  // one passage, three queries
    clusters.push_back(cl);
    cl.clear();
    const std::string query = words(rng, 6);
    for (int i = 0; i < 3; ++i) add(query, words(rng, 40));  // one query, three passages
    clusters.push_back({query});
    std::string base = words(rng, 40);
    for (int i = 0; i < 3; ++i) {
      std::string near = base;
      near.replace(near.rfind(' '), std::string::npos, " changed" + std::to_string(i));  // last word differs
      cl.push_back(words(rng, 6));
      add(cl.back(), near);
    }
    clusters.push_back(cl);
    cl.clear();
    for (int i = 0; i < 4; ++i) cl.push_back(words(rng, 6)), add(cl.back(), words(rng, 40), "doc" + std::to_string(c));
    clusters.push_back(cl);
  }
  for (int i = 0; i < 160; ++i) add(words(rng, 6), words(rng, 40));  // singletons
  std::shuffle(rows.begin(), rows.end(), rng);
  std::string data;
  for (const auto& r : rows) data += r.dump() + "\n";
  test::write_text(tmp.file("pairs.jsonl"), data);

  for (int seed : {0, 1, 2}) {
    const std::string out = tmp.file("out" + std::to_string(seed));
    auto r = run_command(prepare("--input " + sh_quote(tmp.file("pairs.jsonl")), out, "--json --seed " + std::to_string(seed)));
    ASSERT_EQ(r.exit_code, 0) << r.out;
    const auto j = test::last_json_line(r.out);
    EXPECT_EQ(j["leakage"]["exact"], 0);
    EXPECT_EQ(j["leakage"]["near"], 0);
    EXPECT_EQ(j["groups"]["near_duplicate_links"], 20);  // 10 clusters of three near duplicates
    std::map<std::string, std::set<int>> side_of_anchor;
    std::multiset<std::string> written;
    int sizes[3] = {0, 0, 0};
    for (int s = 0; s < 3; ++s) {
      const char* name[3] = {"train", "validation", "test"};
      for (const auto& row : read_jsonl(out + "/" + name[s] + ".jsonl")) {
        EXPECT_FALSE(row.contains("source"));
        side_of_anchor[row["anchor"]].insert(s);
        written.insert(row.dump());
        ++sizes[s];
      }
    }
    std::multiset<std::string> input;
    for (const auto& row : rows) {
      nlohmann::json t = {{"anchor", row["anchor"]}, {"positive", row["positive"]}};
      input.insert(t.dump());
    }
    EXPECT_EQ(written, input);
    for (const auto& cl : clusters) {
      std::set<int> sides;
      for (const auto& a : cl) sides.insert(side_of_anchor[a].begin(), side_of_anchor[a].end());
      EXPECT_EQ(sides.size(), 1u) << "seed " << seed << ": a cluster of " << cl.size() << " on two sides";
    }
    // 290 rows in groups of at most 4: each split within one group of its share (232 / 29 / 29).
    EXPECT_EQ(sizes[0] + sizes[1] + sizes[2], 290);
    EXPECT_NEAR(sizes[0], 232, 4);
    EXPECT_NEAR(sizes[1], 29, 4);
    EXPECT_NEAR(sizes[2], 29, 4);
    r = run_command(bin() + " check-leakage --train " + sh_quote(out + "/train.jsonl") + " --eval " +
                    sh_quote(out + "/test.jsonl"));
    EXPECT_EQ(r.exit_code, 0) << r.out;
  }
  // Same seed, same files; another seed, another split.
  auto r = run_command(prepare("--input " + sh_quote(tmp.file("pairs.jsonl")), tmp.file("again"), "--seed 1"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(test::read_text(tmp.file("again/test.jsonl")), test::read_text(tmp.file("out1/test.jsonl")));
  EXPECT_NE(test::read_text(tmp.file("out0/test.jsonl")), test::read_text(tmp.file("out1/test.jsonl")));

  // Without the source column the four rows of a document are free to part: at least one
  // document's rows are split under one of the seeds (independent groups of one row each).
  r = run_command(prepare("--input " + sh_quote(tmp.file("pairs.jsonl")), tmp.file("nosrc"),
                          "--source-column none --json"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(test::last_json_line(r.out)["source_column"], nullptr);
  EXPECT_GT(test::last_json_line(r.out)["groups"]["count"].get<int>(),
            test::last_json_line(run_command(prepare("--input " + sh_quote(tmp.file("pairs.jsonl")), tmp.file("src2"), "--json")).out)["groups"]["count"].get<int>());
}

// Over-long texts: the tiny model's WordPiece splits each known word into one token, plus [CLS]
// and [SEP], so a text of n words has n + 2 tokens; --max-length 8 makes the count exact.
TEST(Prepare, OverLongTextsCountedWithTheModelTokenizer) {
  test::TempDir tmp;
  const std::vector<std::string> vocab = {"red", "green", "blue", "fish", "bird", "tree"};
  ASSERT_EQ(test::make_tiny_word_model(tmp.file("model"), vocab), "");
  std::string data = "anchor,positive,score\n";
  const int lengths[4] = {3, 6, 9, 12};  // positives of 5, 8, 11, 14 tokens
  for (int i = 0; i < 4; ++i) {
    std::string p;
    for (int w = 0; w < lengths[i]; ++w) p += (w ? " " : "") + vocab[static_cast<size_t>(w % 6)];
    data += "red fish " + std::to_string(i) + "," + p + "," + std::to_string(0.25 * i) + "\n";
  }
  test::write_text(tmp.file("pairs.csv"), data);
  auto r = run_command(prepare("--input " + sh_quote(tmp.file("pairs.csv")), tmp.file("out"),
                               "--split 1,0,0 --json --max-length 8 --model " + sh_quote(tmp.file("model"))));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto j = test::last_json_line(r.out);
  EXPECT_EQ(j["score_column"], "score");
  const auto& pos = j["too_long"]["columns"]["positive"];
  EXPECT_EQ(j["too_long"]["max_length"], 8);
  EXPECT_EQ(pos["texts"], 4);
  EXPECT_EQ(pos["over"], 2);
  EXPECT_EQ(pos["tokens"], 5 + 8 + 11 + 14);
  EXPECT_EQ(pos["tokens_cut"], 3 + 6);
  EXPECT_EQ(j["too_long"]["columns"]["anchor"]["over"], 0);
  EXPECT_EQ(j["problems"]["too_long"]["count"], 2);
  EXPECT_EQ(j["problems"]["too_long"]["examples"][0]["line"], 4);
  EXPECT_NE(r.out.find("truncation cuts 9 of 38 tokens"), std::string::npos) << r.out;
  const auto rows = read_jsonl(tmp.file("out/train.jsonl"));
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[3]["score"], 0.75);
}

// The semantic part of the firewall: with a threshold every nearest neighbour passes, the splits
// leak; prepare refuses (exit 3, nothing written) unless --allow-leakage.
TEST(Prepare, SemanticLeakageRefusedUnlessAllowed) {
  test::TempDir tmp;
  const std::vector<std::string> vocab = {"red", "green", "blue", "fish", "bird", "tree"};
  ASSERT_EQ(test::make_tiny_word_model(tmp.file("model"), vocab), "");
  std::mt19937 rng(5);
  std::string data;
  for (int i = 0; i < 40; ++i) {
    std::string a, p;
    for (int w = 0; w < 4; ++w) a += (w ? " " : "") + vocab[rng() % 6];
    for (int w = 0; w < 8; ++w) p += (w ? " " : "") + vocab[rng() % 6];
    data += nlohmann::json({{"anchor", a + " " + std::to_string(i)}, {"positive", p + " " + std::to_string(100 + i)}}).dump() + "\n";
  }
  test::write_text(tmp.file("pairs.jsonl"), data);
  const std::string flags = "--json --no-cache --cosine-threshold 0.01 --model " + sh_quote(tmp.file("model"));
  auto r = run_command(prepare("--input " + sh_quote(tmp.file("pairs.jsonl")), tmp.file("out"), flags));
  EXPECT_EQ(r.exit_code, 3) << r.out;
  EXPECT_GT(test::last_json_line(r.out)["leakage"]["semantic"].get<int>(), 0);
  EXPECT_FALSE(fs::exists(tmp.file("out")));
  r = run_command(prepare("--input " + sh_quote(tmp.file("pairs.jsonl")), tmp.file("out"), flags + " --allow-leakage"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(fs::exists(tmp.file("out/train.jsonl")));
  r = run_command(prepare("--input " + sh_quote(tmp.file("pairs.jsonl")), tmp.file("o2"), "--cosine-threshold 0.5"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("--cosine-threshold needs --model"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace embtune
