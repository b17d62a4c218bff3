// BM25: the analysis on Unicode text, and scores and rankings against an independent Python scorer
// (tests/reference/bm25_ref.py) on random corpora. Not dense retrieval (test_eval_metrics.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>

#include "eval/bm25.h"
#include "test_util.h"

namespace embtune {
namespace {

TEST(Bm25Analyze, LowercaseLetterDigitRunsWithoutStopWords) {
  EXPECT_EQ(bm25_analyze("The Café's naïve CO2-levels, in 2024!"),
            (std::vector<std::string>{"café", "s", "naïve", "co2", "levels", "2024"}));
  EXPECT_EQ(bm25_analyze("The cat", false), (std::vector<std::string>{"the", "cat"}));
  EXPECT_EQ(bm25_analyze("ΣΟΦΊΑ東京\xff" "x"), (std::vector<std::string>{"σοφία東京", "x"}))
      << "Unicode letters are terms; an invalid byte separates";
  EXPECT_TRUE(bm25_analyze(" ,;- ").empty());
}

TEST(Bm25, HandWorkedScore) {
  // Two documents: "apple banana" (2 terms) and "apple apple cherry" (3); avgdl 2.5.
  // Query "apple": n = 2, idf = ln(1 + 0.5 / 2.5) = ln 1.2; doc 1 tf 2:
  //   2 / (2 + 0.9 (0.6 + 0.4 · 3 / 2.5)) = 2 / 2.972.
  Bm25Index index({"apple banana", "apple apple cherry"});
  EXPECT_NEAR(index.score("apple", 1), std::log(1.2) * 2 / 2.972, 1e-12);
  EXPECT_NEAR(index.score("the apple", 1), index.score("apple", 1), 1e-15) << "stop words score nothing";
  EXPECT_NEAR(index.score("apple apple", 1), 2 * index.score("apple", 1), 1e-12) << "a repeated query term counts twice";
  EXPECT_EQ(index.score("durian", 0), 0.0);
  const auto hits = index.search("apple", 10);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].first, 1);
  EXPECT_TRUE(index.search("durian", 10).empty());
}

TEST(Bm25, TiesGoToTheLowerDocument) {
  Bm25Index index({"red fox", "blue whale", "red fox"});
  const auto hits = index.search("fox", 2);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].first, 0);
  EXPECT_EQ(hits[1].first, 2);
}

TEST(Bm25, MatchesIndependentScorerOnRandomCorpora) {
  std::mt19937 rng(17);
  const std::vector<std::string> vocab = {"the", "a", "of", "protein", "cell", "cells", "gene", "insulin", "rate",
                                          "2019", "mouse", "tumor", "blood", "Cell", "GENE", "is", "not", "risk"};
  test::TempDir tmp;
  for (int trial = 0; trial < 3; trial++) {
    std::uniform_int_distribution<int> len(1, 40), qlen(1, 5);
    std::vector<std::string> docs(200), queries(30);
    for (auto& d : docs)
      for (int i = len(rng); i > 0; i--) d += vocab[rng() % vocab.size()] + (rng() % 5 ? " " : ", ");
    for (auto& q : queries)
      for (int i = qlen(rng); i > 0; i--) q += vocab[rng() % vocab.size()] + " ";
    const double k1 = trial == 2 ? 1.2 : 0.9, b = trial == 2 ? 0.75 : 0.4;
    test::write_text(tmp.file("in.json"), nlohmann::json({{"docs", docs}, {"queries", queries}, {"k1", k1}, {"b", b}}).dump());
    auto r = test::run_command("python3 " + test::sh_quote(test::source_dir() + "/tests/reference/bm25_ref.py") + " " +
                               test::sh_quote(tmp.file("in.json")) + " " + test::sh_quote(tmp.file("out.json")));
    ASSERT_EQ(r.exit_code, 0) << r.out;
    const auto want = nlohmann::json::parse(test::read_text(tmp.file("out.json")))["scores"];
    Bm25Options opt;
    opt.k1 = k1;
    opt.b = b;
    Bm25Index index(docs, opt);
    for (size_t q = 0; q < queries.size(); q++) {
      for (size_t d = 0; d < docs.size(); d++)
        ASSERT_NEAR(index.score(queries[q], d), want[q][d].get<double>(), 1e-12) << q << " " << d;
      // The ranking: every document with a positive score, best first, ties by index.
      std::vector<std::pair<int64_t, double>> expected;
      for (size_t d = 0; d < docs.size(); d++)
        if (want[q][d].get<double>() > 0) expected.push_back({static_cast<int64_t>(d), index.score(queries[q], d)});
      std::stable_sort(expected.begin(), expected.end(), [](auto& x, auto& y) { return x.second > y.second; });
      const auto hits = index.search(queries[q], 1000);
      ASSERT_EQ(hits.size(), expected.size()) << queries[q];
      for (size_t i = 0; i < hits.size(); i++) ASSERT_EQ(hits[i].first, expected[i].first) << queries[q] << " rank " << i;
      const auto top5 = index.search(queries[q], 5);
      ASSERT_EQ(top5.size(), std::min<size_t>(5, expected.size()));
    }
  }
}

}  // namespace
}  // namespace embtune
