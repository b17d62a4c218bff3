// Training data readers: column conventions, CSV quoting, and every kind of bad row failing
// with the file and line before training starts. Not the sampler or the trainer.
#include <gtest/gtest.h>

#include "data/training_data.h"
#include "test_util.h"

namespace embtune {
namespace {

Status read(const test::TempDir& tmp, const std::string& name, const std::string& content, TrainingData* d,
            const TrainingDataOptions& opt = {}) {
  test::write_text(tmp.file(name), content);
  return training_data_read(tmp.file(name), opt, d);
}

TEST(TrainingData, JsonlColumnsInFileOrderWithHardNegatives) {
  test::TempDir tmp;
  TrainingData d;
  Status s = read(tmp, "p.jsonl",
                  "{\"anchor\": \"q1\", \"positive\": \"p1\", \"negative_1\": \"n1\", \"negative_2\": \"m1\"}\n"
                  "{\"positive\": \"p2\", \"anchor\": \"q2\", \"negative_2\": \"m2\", \"negative_1\": \"n2\"}\n",
                  &d);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(d.text_columns, (std::vector<std::string>{"anchor", "positive", "negative_1", "negative_2"}));
  EXPECT_EQ(d.score_column, "");
  ASSERT_EQ(d.rows.size(), 2u);
  EXPECT_EQ(d.rows[1].texts, (std::vector<std::string>{"q2", "p2", "n2", "m2"}));
}

TEST(TrainingData, AnchorAndPositiveByNameWhateverTheKeyOrder) {
  test::TempDir tmp;
  TrainingData d;
  // Key order as a JSON writer that sorts keys leaves it.
  Status s = read(tmp, "sorted.jsonl", "{\"anchor\": \"q\", \"negative_1\": \"n\", \"positive\": \"p\"}\n", &d);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(d.text_columns, (std::vector<std::string>{"anchor", "positive", "negative_1"}));
  EXPECT_EQ(d.rows[0].texts, (std::vector<std::string>{"q", "p", "n"}));
  // Other names keep the file's order.
  ASSERT_TRUE(read(tmp, "other.jsonl", "{\"question\": \"q\", \"answer\": \"a\"}\n", &d).ok());
  EXPECT_EQ(d.text_columns, (std::vector<std::string>{"question", "answer"}));
}

TEST(TrainingData, ScoreOrLabelColumnIsTheScore) {
  test::TempDir tmp;
  TrainingData d;
  ASSERT_TRUE(read(tmp, "s.jsonl", "{\"sentence1\": \"a\", \"sentence2\": \"b\", \"score\": 0.5}\n", &d).ok());
  EXPECT_EQ(d.score_column, "score");
  EXPECT_EQ(d.text_columns, (std::vector<std::string>{"sentence1", "sentence2"}));
  EXPECT_DOUBLE_EQ(d.rows[0].score, 0.5);
  ASSERT_TRUE(read(tmp, "l.tsv", "text1\ttext2\tlabel\nx\ty\t1\n", &d).ok());
  EXPECT_EQ(d.score_column, "label");
  EXPECT_DOUBLE_EQ(d.rows[0].score, 1.0);
}

TEST(TrainingData, ColumnsChosenExplicitly) {
  test::TempDir tmp;
  TrainingData d;
  TrainingDataOptions opt;
  opt.columns = {"question", "answer"};
  Status s = read(tmp, "c.csv", "id,answer,question\n1,yes,why?\n", &d, opt);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(d.rows[0].texts, (std::vector<std::string>{"why?", "yes"}));
  opt.columns = {"question", "nonesuch"};
  s = read(tmp, "c.csv", "id,answer,question\n1,yes,why?\n", &d, opt);
  EXPECT_NE(s.message().find("nonesuch"), std::string::npos) << s.message();
}

TEST(TrainingData, CsvQuotingCommasNewlinesAndCrlf) {
  test::TempDir tmp;
  TrainingData d;
  Status s = read(tmp, "q.csv", "anchor,positive\r\n\"a, with comma\",\"say \"\"hi\"\"\non two lines\"\r\nplain,text\r\n", &d);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(d.rows.size(), 2u);
  EXPECT_EQ(d.rows[0].texts[0], "a, with comma");
  EXPECT_EQ(d.rows[0].texts[1], "say \"hi\"\non two lines");
  EXPECT_EQ(d.rows[1].texts, (std::vector<std::string>{"plain", "text"}));
  // The line number after a quoted newline counts it.
  s = read(tmp, "q2.csv", "anchor,positive\n\"x\ny\",z\nonly-one\n", &d);
  EXPECT_NE(s.message().find("line 4"), std::string::npos) << s.message();
}

struct Bad {
  const char* name;
  const char* content;
  std::vector<std::string> needles;
};

TEST(TrainingData, BadInputNamesFileAndLine) {
  test::TempDir tmp;
  TrainingDataOptions scored;
  scored.score_min = 0.0;
  scored.score_max = 1.0;
  const Bad cases[] = {
      {"missing.jsonl", "{\"anchor\": \"a\", \"positive\": \"b\"}\n{\"anchor\": \"c\"}\n", {"missing.jsonl", "line 2", "positive"}},
      {"extra.jsonl", "{\"anchor\": \"a\", \"positive\": \"b\"}\n{\"anchor\": \"c\", \"positive\": \"d\", \"x\": \"e\"}\n",
       {"line 2", "\"x\""}},
      {"empty_text.jsonl", "{\"anchor\": \"a\", \"positive\": \"b\"}\n{\"anchor\": \"  \", \"positive\": \"d\"}\n",
       {"line 2", "anchor", "empty"}},
      {"not_string.jsonl", "{\"anchor\": \"a\", \"positive\": 3}\n", {"line 1", "positive", "string"}},
      {"not_object.jsonl", "[\"a\", \"b\"]\n", {"line 1", "object"}},
      {"bad_json.jsonl", "{\"anchor\": \"a\", \"positive\": \"b\"}\n{\"anchor\": \n", {"line 2", "invalid JSON"}},
      {"blank_line.jsonl", "{\"anchor\": \"a\", \"positive\": \"b\"}\n\n{\"anchor\": \"a\", \"positive\": \"b\"}\n", {"line 2", "empty line"}},
      {"utf8.jsonl", "{\"anchor\": \"a\", \"positive\": \"b\xff\"}\n", {"line 1", "UTF-8"}},
      {"mixed.csv", "anchor,positive\na,b\nc,d,e\n", {"mixed.csv", "line 3", "3 columns"}},
      {"empty_field.tsv", "anchor\tpositive\na\t\n", {"line 2", "positive", "empty"}},
      {"quote.csv", "anchor,positive\n\"a,b\n", {"quote.csv", "line 2", "unterminated"}},
      {"score_text.csv", "s1,s2,score\na,b,high\n", {"line 2", "not a number"}},
      {"empty.jsonl", "", {"empty.jsonl", "empty"}},
      {"header_only.csv", "anchor,positive\n", {"no rows"}},
      {"data.txt", "anchor\n", {"data.txt", "extension"}},
  };
  for (const Bad& c : cases) {
    TrainingData d;
    Status s = read(tmp, c.name, c.content, &d);
    ASSERT_FALSE(s.ok()) << c.name;
    for (auto& n : c.needles) EXPECT_NE(s.message().find(n), std::string::npos) << c.name << ": " << s.message();
  }
  TrainingData d;
  Status s = read(tmp, "range.jsonl", "{\"a\": \"x\", \"b\": \"y\", \"score\": 0.5}\n{\"a\": \"x\", \"b\": \"y\", \"score\": 1.5}\n", &d,
                  scored);
  EXPECT_NE(s.message().find("line 2"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("outside [0, 1]"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace embtune
