// Tests of hard-negative mining (data/mine.h, `embtune mine`): exclusion of positives and their
// near-duplicates, every filter, counts, seeded sampling, corpus formats, output shape, bad input.
// Not a quality test: a tiny random model, so invariants are checked, not particular neighbours.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/file.h"
#include "data/mine.h"
#include "test_util.h"

namespace embtune {
namespace {

const std::vector<std::string> kWords = {"apple", "banana", "cherry", "fruit", "red", "green", "sweet", "sour",
                                         "tree", "river", "stone", "cloud", "music", "paper", "window", "garden"};

// Rows over kWords, two anchors with two positives each; a corpus with copies of the positives,
// their near-duplicates and unrelated texts.
std::vector<MinePair> sample_pairs() {
  return {{"apple fruit", "red apple sweet fruit", 1}, {"apple fruit", "green apple sour fruit", 2},
          {"banana", "sweet banana fruit tree", 3},    {"cherry", "red cherry fruit", 4},
          {"river stone", "stone in the river", 5},    {"music paper", "paper music window", 6}};
}

std::vector<std::string> sample_corpus() {
  std::vector<std::string> c = {"red apple sweet fruit", "red apple sweet fruit tree", "green apple sour fruit",
                                "sweet banana fruit tree", "sweet banana fruit tree river", "red cherry fruit",
                                "stone in the river", "paper music window"};
  for (size_t i = 0; i < kWords.size(); i++)
    for (size_t j = i + 1; j < kWords.size(); j += 3) c.push_back(kWords[i] + " " + kWords[j] + " " + kWords[(i + j) % kWords.size()]);
  return c;
}

class MineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    ASSERT_EQ(test::make_tiny_word_model(dir_->file("model"), kWords), "");
    ASSERT_TRUE(SentenceEncoder::load(dir_->file("model"), &encoder_).ok());
  }
  static void TearDownTestSuite() {
    encoder_.reset();
    delete dir_;
  }
  static MineResult mine(const MineOptions& opt, const std::vector<MinePair>& pairs = sample_pairs(),
                         const std::vector<std::string>& corpus = sample_corpus()) {
    MineResult r;
    Status s = mine_hard_negatives(*encoder_, pairs, corpus, opt, &r);
    EXPECT_TRUE(s.ok()) << s.message();
    return r;
  }
  static test::TempDir* dir_;
  static std::unique_ptr<SentenceEncoder> encoder_;
};
test::TempDir* MineTest::dir_ = nullptr;
std::unique_ptr<SentenceEncoder> MineTest::encoder_;

int64_t removed_total(const MineReport& r) {
  return r.positive + r.near_duplicate + r.range + r.max_score + r.min_score + r.absolute_margin + r.relative_margin +
         r.not_picked + r.picked;
}

TEST_F(MineTest, NeverReturnsAPositiveOrItsNearDuplicate) {
  MineOptions opt;
  opt.num_negatives = 30;
  opt.near_duplicate_threshold = 0.5;
  const std::vector<MinePair> pairs = sample_pairs();
  const std::vector<std::string> corpus = sample_corpus();
  MineResult r = mine(opt);
  ASSERT_EQ(r.rows.size(), pairs.size());
  for (size_t i = 0; i < pairs.size(); i++) {
    for (int64_t n : r.rows[i].negatives) {
      for (const MinePair& p : pairs) {
        if (p.anchor != pairs[i].anchor) continue;
        EXPECT_NE(corpus[n], p.positive);
        EXPECT_LT(shingle_jaccard(corpus[n], p.positive, opt.near_duplicate), 0.5) << corpus[n] << " ~ " << p.positive;
      }
    }
    EXPECT_TRUE(std::is_sorted(r.rows[i].negative_scores.rbegin(), r.rows[i].negative_scores.rend()));
  }
  EXPECT_GT(r.report.positive, 0);
  EXPECT_GT(r.report.near_duplicate, 0);
  EXPECT_EQ(removed_total(r.report), r.report.retrieved);
  // With the check off, near-duplicates come back as negatives.
  opt.near_duplicate_threshold = 0;
  MineResult off = mine(opt);
  EXPECT_EQ(off.report.near_duplicate, 0);
  EXPECT_EQ(removed_total(off.report), off.report.retrieved);
}

TEST_F(MineTest, ScoreFiltersAndMarginsAreRespected) {
  MineOptions base;
  base.num_negatives = 50;
  base.near_duplicate_threshold = 0;
  MineResult all = mine(base);
  std::vector<float> scores;
  for (const MinedRow& row : all.rows) scores.insert(scores.end(), row.negative_scores.begin(), row.negative_scores.end());
  std::sort(scores.begin(), scores.end());
  ASSERT_GT(scores.size(), 10u);
  const double lo = scores[scores.size() / 4], hi = scores[scores.size() * 3 / 4];

  MineOptions opt = base;
  opt.max_score = hi;
  opt.min_score = lo;
  opt.absolute_margin = 0.01;
  opt.relative_margin = 0.02;
  MineResult r = mine(opt);
  for (const MinedRow& row : r.rows) {
    for (float s : row.negative_scores) {
      EXPECT_LE(s, hi);
      EXPECT_GE(s, lo);
      EXPECT_LE(s, row.positive_score - 0.01);
      EXPECT_LE(s, row.positive_score * (1 - 0.02));
    }
  }
  EXPECT_GT(r.report.max_score, 0);
  EXPECT_GT(r.report.min_score, 0);
  EXPECT_EQ(removed_total(r.report), r.report.retrieved);
  int64_t short_rows = 0;
  for (const MinedRow& row : r.rows) short_rows += static_cast<int64_t>(row.negatives.size()) < opt.num_negatives;
  EXPECT_EQ(r.report.rows_short, short_rows);
}

TEST_F(MineTest, RangeSkipsTheClosestAndNumNegativesCaps) {
  MineOptions opt;
  opt.near_duplicate_threshold = 0;
  opt.range_max = 6;
  opt.num_negatives = 6;
  MineResult wide = mine(opt);
  opt.range_min = 2;
  opt.num_negatives = 3;
  MineResult narrow = mine(opt);
  for (size_t i = 0; i < wide.rows.size(); i++) {
    ASSERT_EQ(wide.rows[i].negatives.size(), 6u);
    const std::vector<int64_t> expected(wide.rows[i].negatives.begin() + 2, wide.rows[i].negatives.begin() + 5);
    EXPECT_EQ(narrow.rows[i].negatives, expected);
  }
  EXPECT_EQ(narrow.report.rows_short, 0);
  EXPECT_EQ(narrow.report.not_picked, static_cast<int64_t>(wide.rows.size()));  // ranks 2..5: 4 in range, 3 picked
  EXPECT_EQ(removed_total(narrow.report), narrow.report.retrieved);
}

TEST_F(MineTest, RandomSamplingIsSeededAndStaysInRange) {
  MineOptions opt;
  opt.near_duplicate_threshold = 0;
  opt.random_sampling = true;
  opt.range_max = 15;
  opt.num_negatives = 3;
  MineResult a = mine(opt), b = mine(opt);
  opt.seed = 99;
  MineResult c = mine(opt);
  opt.random_sampling = false;
  opt.num_negatives = 15;
  MineResult range = mine(opt);
  bool differs = false;
  for (size_t i = 0; i < a.rows.size(); i++) {
    EXPECT_EQ(a.rows[i].negatives, b.rows[i].negatives);
    differs = differs || a.rows[i].negatives != c.rows[i].negatives;
    const std::set<int64_t> in_range(range.rows[i].negatives.begin(), range.rows[i].negatives.end());
    for (int64_t n : a.rows[i].negatives) EXPECT_TRUE(in_range.count(n));
  }
  EXPECT_TRUE(differs);
}

TEST_F(MineTest, BadOptionsAreErrors) {
  MineOptions opt;
  opt.range_min = 5;
  opt.range_max = 5;
  MineResult r;
  EXPECT_FALSE(mine_hard_negatives(*encoder_, sample_pairs(), sample_corpus(), opt, &r).ok());
}

std::string pairs_jsonl() {
  std::string s;
  for (const MinePair& p : sample_pairs()) s += nlohmann::json{{"anchor", p.anchor}, {"positive", p.positive}}.dump() + "\n";
  return s;
}

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::vector<nlohmann::json> rows;
  std::istringstream in(test::read_text(path));
  for (std::string line; std::getline(in, line);) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

class MineCliTest : public MineTest {
 protected:
  std::string command(const std::string& input, const std::string& out, const std::string& extra) {
    return test::sh_quote(test::embtune_bin()) + " -q mine --no-cache --model " + test::sh_quote(dir_->file("model")) +
           " --input " + test::sh_quote(input) + " --out " + test::sh_quote(out) + " " + extra + " 2>&1";
  }
  test::TempDir tmp;
};

TEST_F(MineCliTest, OutputShapeMatchesTheContract) {
  test::write_text(tmp.file("pairs.jsonl"), pairs_jsonl());
  std::string corpus;
  for (const std::string& t : sample_corpus()) corpus += t + "\n";
  test::write_text(tmp.file("corpus.txt"), corpus);
  auto r = test::run_command(command(tmp.file("pairs.jsonl"), tmp.file("out.jsonl"),
                                     "--corpus " + test::sh_quote(tmp.file("corpus.txt")) + " --num-negatives 4 --json"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  nlohmann::json rep = test::last_json_line(r.out);
  EXPECT_EQ(rep["rows"], 6);
  EXPECT_EQ(rep["corpus_texts"], static_cast<int64_t>(sample_corpus().size()));
  int64_t sum = rep["negatives"].get<int64_t>();
  for (auto& [k, v] : rep["removed"].items()) sum += v.get<int64_t>();
  EXPECT_EQ(sum, rep["retrieved"].get<int64_t>());
  std::vector<nlohmann::json> rows = read_jsonl(tmp.file("out.jsonl"));
  ASSERT_EQ(rows.size(), 6u);
  int64_t short_rows = 0;
  for (const nlohmann::json& row : rows) {
    std::vector<std::string> keys;
    for (auto& [k, v] : row.items()) keys.push_back(k);
    const size_t n = keys.size() - 2;
    EXPECT_LE(n, 4u);
    short_rows += n < 4;
    std::vector<std::string> expected = {"anchor", "positive"};
    for (size_t i = 1; i <= n; i++) expected.push_back("negative_" + std::to_string(i));
    std::sort(expected.begin(), expected.end());
    std::sort(keys.begin(), keys.end());
    EXPECT_EQ(keys, expected);
  }
  EXPECT_EQ(rep["rows_short"], short_rows);

  r = test::run_command(command(tmp.file("pairs.jsonl"), tmp.file("scored.jsonl"), "--num-negatives 2 --with-scores"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  for (const nlohmann::json& row : read_jsonl(tmp.file("scored.jsonl"))) {
    ASSERT_TRUE(row.contains("score_positive"));
    for (int i = 1; i <= 2; i++)
      EXPECT_EQ(row.contains("negative_" + std::to_string(i)), row.contains("score_negative_" + std::to_string(i)));
  }

  r = test::run_command(command(tmp.file("pairs.jsonl"), tmp.file("triplets.jsonl"),
                                "--num-negatives 2 --output-format triplet --with-scores --absolute-margin 0 --json"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  rep = test::last_json_line(r.out);
  std::vector<nlohmann::json> triplets = read_jsonl(tmp.file("triplets.jsonl"));
  EXPECT_EQ(static_cast<int64_t>(triplets.size()), rep["negatives"].get<int64_t>());
  for (const nlohmann::json& row : triplets) {
    EXPECT_EQ(row.size(), 5u);
    EXPECT_LE(row["score_negative"].get<double>(), row["score_positive"].get<double>());
    EXPECT_TRUE(row.contains("negative"));
  }
}

TEST_F(MineCliTest, ReadsTheThreeCorpusFormatsAndDefaultsToThePositives) {
  test::write_text(tmp.file("pairs.jsonl"), pairs_jsonl());
  test::write_text(tmp.file("lines.txt"), "apple tree\n\n  banana river \napple tree\ncloud paper\n");
  test::write_text(tmp.file("texts.jsonl"), "{\"text\": \"apple tree\"}\n{\"text\": \"cloud paper\", \"id\": 3}\n");
  test::write_text(tmp.file("corpus.jsonl"),
                   "{\"_id\": \"d1\", \"title\": \"apple\", \"text\": \"tree\"}\n{\"_id\": \"d2\", \"title\": \"\", "
                   "\"text\": \"cloud paper\"}\n{\"_id\": \"d3\", \"text\": \"garden\"}\n");
  const std::vector<std::pair<std::string, int>> cases = {
      {"--corpus " + test::sh_quote(tmp.file("lines.txt")), 3},
      {"--corpus " + test::sh_quote(tmp.file("texts.jsonl")), 2},
      {"--corpus " + test::sh_quote(tmp.file("corpus.jsonl")), 3},
      {"", 6}};
  for (const auto& [flag, texts] : cases) {
    auto r = test::run_command(command(tmp.file("pairs.jsonl"), tmp.file("out.jsonl"), flag + " --json"));
    ASSERT_EQ(r.exit_code, 0) << r.out;
    EXPECT_EQ(test::last_json_line(r.out)["corpus_texts"], texts) << flag;
  }
  // The BEIR corpus's first text is title + " " + text.
  auto r = test::run_command(command(tmp.file("pairs.jsonl"), tmp.file("out.jsonl"),
                                     "--corpus " + test::sh_quote(tmp.file("corpus.jsonl")) + " --num-negatives 3"));
  ASSERT_EQ(r.exit_code, 0) << r.out;
  bool seen = false;
  for (const nlohmann::json& row : read_jsonl(tmp.file("out.jsonl")))
    for (auto& [k, v] : row.items()) seen = seen || v == "apple tree";
  EXPECT_TRUE(seen);
}

TEST_F(MineCliTest, BadInputNamesFileAndLineAndWritesNothing) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{\"anchor\": \"a\", \"positive\": \"b\"}\n{\"anchor\": \"a\"}\n", "line 2: no \"positive\""},
      {"{\"anchor\": \"a\", \"positive\": \"b\"}\n\n{\"anchor\": \"a\", \n", "line 3: not JSON"},
      {"{\"anchor\": \"  \", \"positive\": \"b\"}\n", "line 1: \"anchor\" is empty"},
      {"{\"anchor\": \"a\", \"positive\": \"b\xff\"}\n", "line 1: invalid UTF-8"},
      {"[1, 2]\n", "line 1: expected a JSON object"}};
  for (const auto& [content, message] : cases) {
    test::write_text(tmp.file("bad.jsonl"), content);
    auto r = test::run_command(command(tmp.file("bad.jsonl"), tmp.file("out.jsonl"), ""));
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.out.find("bad.jsonl: " + message), std::string::npos) << r.out;
    EXPECT_FALSE(file_exists(tmp.file("out.jsonl")));
  }
  test::write_text(tmp.file("pairs.jsonl"), pairs_jsonl());
  test::write_text(tmp.file("corpus.jsonl"), "{\"text\": \"apple\"}\n{\"title\": \"x\"}\n");
  auto r = test::run_command(command(tmp.file("pairs.jsonl"), tmp.file("out.jsonl"),
                                     "--corpus " + test::sh_quote(tmp.file("corpus.jsonl"))));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.out.find("corpus.jsonl: line 2"), std::string::npos) << r.out;
  EXPECT_FALSE(file_exists(tmp.file("out.jsonl")));
}

}  // namespace
}  // namespace embtune
