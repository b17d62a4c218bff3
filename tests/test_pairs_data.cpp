// Evaluation sets built from (query, positive…) JSONL and an extra corpus: ids, deduplication,
// qrels, and bad input refused by file and line. Not the trainer's reader (test_training_data.cpp).
#include <gtest/gtest.h>

#include "eval/pairs_data.h"
#include "eval/retrieve.h"
#include "test_util.h"

namespace embtune {
namespace {

TEST(PairsData, BuildsCorpusQueriesAndQrels) {
  test::TempDir tmp;
  test::write_text(tmp.file("pairs.jsonl"),
                   "{\"query\": \"what is an apple\", \"positive\": \"an apple is a fruit\"}\n"
                   "\n"
                   "{\"anchor\": \"banana colour\", \"positive\": \"bananas are yellow\", \"negative\": \"apples are red\"}\n"
                   "{\"query\": \" what is an apple \", \"positive\": \"apples grow on trees\"}\n"
                   "{\"question\": \"cherry size\", \"answer\": \"cherries are small\", \"score\": 1.0}\n"
                   "{\"query\": \"fruit list\", \"positives\": [\"an apple is a fruit\", \"bananas are yellow\"]}\n");
  BeirData d;
  Status s = pairs_read(tmp.file("pairs.jsonl"), "", &d);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(d.query_ids, (std::vector<std::string>{"q0", "q1", "q2", "q3"}));
  EXPECT_EQ(d.query_texts, (std::vector<std::string>{"what is an apple", "banana colour", "cherry size", "fruit list"}));
  EXPECT_EQ(d.doc_ids, (std::vector<std::string>{"d0", "d1", "d2", "d3"}));
  EXPECT_EQ(d.doc_texts, (std::vector<std::string>{"an apple is a fruit", "bananas are yellow", "apples grow on trees",
                                                   "cherries are small"}))
      << "distinct positives in first-appearance order; the negative is not a document";
  EXPECT_EQ(d.qrels.query_order, d.query_ids);
  using G = std::unordered_map<std::string, int64_t>;
  EXPECT_EQ(d.qrels.grades.at("q0"), (G{{"d0", 1}, {"d2", 1}})) << "a repeated query judges all its positives";
  EXPECT_EQ(d.qrels.grades.at("q1"), (G{{"d1", 1}}));
  EXPECT_EQ(d.qrels.grades.at("q2"), (G{{"d3", 1}})) << "positional columns, the score ignored";
  EXPECT_EQ(d.qrels.grades.at("q3"), (G{{"d0", 1}, {"d1", 1}}));
  EXPECT_EQ(d.unknown_qrels_docs, 0);
  EXPECT_TRUE(d.has_doc_texts());
  EXPECT_TRUE(d.corpus_path.empty());
}

TEST(PairsData, ExtraCorpusAddsDistinctDocuments) {
  test::TempDir tmp;
  test::write_text(tmp.file("pairs.jsonl"), "{\"query\": \"apple\", \"positive\": \"an apple is a fruit\"}\n");
  test::write_text(tmp.file("extra.jsonl"),
                   "{\"_id\": \"x1\", \"text\": \"an apple is a fruit\"}\n"
                   "{\"_id\": \"x2\", \"title\": \"Fig\", \"text\": \"figs are sweet\"}\n"
                   "{\"text\": \"grapes make wine\"}\n"
                   "{\"text\": \" grapes make wine\"}\n");
  BeirData d;
  Status s = pairs_read(tmp.file("pairs.jsonl"), tmp.file("extra.jsonl"), &d);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(d.doc_texts, (std::vector<std::string>{"an apple is a fruit", "Fig figs are sweet", "grapes make wine"}));
  EXPECT_EQ(d.doc_ids, (std::vector<std::string>{"d0", "d1", "d2"}));
  EXPECT_EQ(d.qrels.grades.at("q0").size(), 1u);
  // BM25 over it finds the positive first.
  const TrecRun run = bm25_run(d, Bm25Options(), 3);
  ASSERT_FALSE(run.docs.at("q0").empty());
  std::vector<ScoredDoc> docs = run.docs.at("q0");
  trec_rank_documents(&docs);
  EXPECT_EQ(docs[0].docid, "d0");
}

TEST(PairsData, DenseRunScoresPairs) {
  test::TempDir tmp;
  ASSERT_EQ(test::make_tiny_word_model(tmp.file("model"), {"apple", "banana", "fruit"}), "");
  std::unique_ptr<SentenceEncoder> enc;
  ASSERT_TRUE(SentenceEncoder::load(tmp.file("model"), &enc).ok());
  test::write_text(tmp.file("pairs.jsonl"),
                   "{\"query\": \"apple\", \"positive\": \"an apple fruit\"}\n"
                   "{\"query\": \"banana\", \"positive\": \"a banana fruit\"}\n");
  BeirData d;
  ASSERT_TRUE(pairs_read(tmp.file("pairs.jsonl"), "", &d).ok());
  DenseRunOptions opt;
  opt.query.has_prompt_text = opt.corpus.has_prompt_text = true;
  TrecRun run;
  ASSERT_TRUE(dense_run(*enc, d, opt, &run).ok());
  TrecEvalResult r;
  ASSERT_TRUE(trec_evaluate(run, d.qrels, TrecEvalOptions(), &r).ok());
  EXPECT_EQ(r.queries, 2);
}

TEST(PairsData, BadInputIsRefusedByFileAndLine) {
  struct Case {
    std::string pairs, extra;
    std::vector<std::string> needles;
  } cases[] = {
      {"{\"query\": \"a\", \"positive\": \"b\"}\n{\"query\": \"a\", \"positive\": \"b\"\n", "", {"pairs.jsonl", "line 2", "JSON"}},
      {"{\"query\": \"a\", \"positive\": \"\xff\"}\n", "", {"pairs.jsonl", "line 1", "UTF-8"}},
      {"[\"a\", \"b\"]\n", "", {"pairs.jsonl", "line 1", "object"}},
      {"{\"query\": \"a\"}\n", "", {"pairs.jsonl", "line 1", "no positive"}},
      {"{\"score\": 1}\n", "", {"pairs.jsonl", "line 1", "no query"}},
      {"{\"query\": \"a\", \"positive\": \"b\"}\n{\"query\": \"  \", \"positive\": \"b\"}\n", "", {"pairs.jsonl", "line 2", "\"query\" is empty"}},
      {"{\"query\": \"a\", \"positive\": \"\"}\n", "", {"pairs.jsonl", "line 1", "\"positive\" is empty"}},
      {"{\"query\": \"a\", \"positives\": []}\n", "", {"pairs.jsonl", "line 1", "positives"}},
      {"{\"query\": 3, \"positive\": \"b\"}\n", "", {"pairs.jsonl", "line 1", "string"}},
      {"", "", {"pairs.jsonl", "no pairs"}},
      {"\n  \n", "", {"pairs.jsonl", "no pairs"}},
      {"{\"query\": \"a\", \"positive\": \"b\"}\n", "{\"text\": \"c\"}\n{\"title\": \"t\"}\n", {"extra.jsonl", "line 2", "text"}},
      {"{\"query\": \"a\", \"positive\": \"b\"}\n", "{\"text\": \"c\"\n", {"extra.jsonl", "line 1", "JSON"}},
  };
  for (const Case& c : cases) {
    test::TempDir tmp;
    test::write_text(tmp.file("pairs.jsonl"), c.pairs);
    if (!c.extra.empty()) test::write_text(tmp.file("extra.jsonl"), c.extra);
    BeirData d;
    Status s = pairs_read(tmp.file("pairs.jsonl"), c.extra.empty() ? "" : tmp.file("extra.jsonl"), &d);
    ASSERT_FALSE(s.ok()) << c.pairs;
    for (const std::string& n : c.needles) EXPECT_NE(s.message().find(n), std::string::npos) << s.message();
  }
  BeirData d;
  Status s = pairs_read("/no/such/pairs.jsonl", "", &d);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/no/such/pairs.jsonl"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace embtune
