// Retrieval metrics and correlations on hand-worked cases (each expected value derived in the
// comment beside it). Not the training loop's use of them (test_train_cli.cpp).
#include <gtest/gtest.h>

#include <cmath>

#include "eval/metrics.h"

namespace embtune {
namespace {

TEST(RetrievalMetrics, HandWorkedRanking) {
  // q0 = (1, 0) ranks d0 (cos 1), d1 (0.6), d2 (0); its relevant d1 is 2nd.
  // q1 = (0, 2) ranks d2 (1), d1 (0.8), d0 (0); its relevant d2 is 1st (rows are normalised inside).
  const float q[] = {1, 0, 0, 2};
  const float d[] = {3, 0, 0.6f, 0.8f, 0, 1};
  const auto m = retrieval_metrics(q, 2, d, 3, 2, {{1}, {2}}, {1, 10});
  EXPECT_DOUBLE_EQ(m.at("mrr@10"), (0.5 + 1.0) / 2);
  EXPECT_NEAR(m.at("ndcg@10"), (1.0 / std::log2(3.0) + 1.0) / 2, 1e-12);
  EXPECT_DOUBLE_EQ(m.at("accuracy@1"), 0.5);
  EXPECT_DOUBLE_EQ(m.at("recall@1"), 0.5);
  EXPECT_DOUBLE_EQ(m.at("recall@10"), 1.0);
  EXPECT_DOUBLE_EQ(m.at("mrr@1"), 0.5);
}

TEST(RetrievalMetrics, SeveralRelevantAndQueriesWithoutAny) {
  // q0 ranks d0, d1, d2 with d1, d2 relevant: recall@1 0, recall@10 1, ndcg@10 =
  // (1/log2 3 + 1/log2 4) / (1 + 1/log2 3); mrr 1/2. q1 has no relevant document: not counted.
  const float q[] = {1, 0, 1, 0};
  const float d[] = {1, 0, 0.6f, 0.8f, 0, 1};
  const auto m = retrieval_metrics(q, 2, d, 3, 2, {{1, 2}, {}}, {1, 10});
  EXPECT_DOUBLE_EQ(m.at("recall@1"), 0.0);
  EXPECT_DOUBLE_EQ(m.at("recall@10"), 1.0);
  EXPECT_NEAR(m.at("ndcg@10"), (1 / std::log2(3.0) + 0.5) / (1 + 1 / std::log2(3.0)), 1e-12);
  EXPECT_DOUBLE_EQ(m.at("mrr@10"), 0.5);
}

TEST(RetrievalMetrics, TiesGoToTheLowerDocumentIndex) {
  const float q[] = {1, 0};
  const float d[] = {0, 1, 1, 0, 2, 0};  // d1 and d2 tie at cos 1
  EXPECT_DOUBLE_EQ(retrieval_metrics(q, 1, d, 3, 2, {{1}}, {1}).at("accuracy@1"), 1.0);
  EXPECT_DOUBLE_EQ(retrieval_metrics(q, 1, d, 3, 2, {{2}}, {1}).at("accuracy@1"), 0.0);
}

TEST(Correlation, SpearmanWithTiesAsScipy) {
  // scipy.stats.spearmanr([1, 2, 2, 3], [1, 3, 2, 4]) = 0.9486832980505138: ranks (1, 2.5, 2.5, 4)
  // and (1, 3, 2, 4), Pearson 4.5 / sqrt(4.5 · 5).
  EXPECT_NEAR(spearman_correlation({1, 2, 2, 3}, {1, 3, 2, 4}), 0.9486832980505138, 1e-15);
  EXPECT_NEAR(pearson_correlation({1, 2, 3}, {2, 4, 6}), 1.0, 1e-15);
  EXPECT_NEAR(pearson_correlation({1, 2, 3}, {3, 2, 1}), -1.0, 1e-15);
  EXPECT_EQ(pearson_correlation({1, 1, 1}, {1, 2, 3}), 0.0);
}

TEST(Correlation, PairwiseCosine) {
  const float a[] = {1, 0, 0, 0}, b[] = {1, 1, 5, 0};
  const auto c = pairwise_cosine(a, b, 2, 2);
  EXPECT_NEAR(c[0], 1 / std::sqrt(2.0), 1e-12);
  EXPECT_EQ(c[1], 0.0);  // a zero row: cosine 0, not NaN
}

}  // namespace
}  // namespace embtune
