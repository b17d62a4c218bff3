// Exact dense search against brute-force scoring on random embeddings, with corpora that are
// and are not multiples of the block size, both similarities, ties and k beyond the corpus.
// Not embedding (the model tests) and not metrics (test_eval_metrics.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "eval/dense_search.h"
#include "test_util.h"

namespace embtune {
namespace {

std::vector<std::pair<int64_t, double>> brute_force(const std::vector<float>& q, int64_t qi, const std::vector<float>& c,
                                                    int64_t M, int64_t D, bool cosine) {
  std::vector<std::pair<int64_t, double>> all;
  double qn = 0;
  for (int64_t d = 0; d < D; d++) qn += static_cast<double>(q[qi * D + d]) * q[qi * D + d];
  for (int64_t j = 0; j < M; j++) {
    double dot = 0, cn = 0;
    for (int64_t d = 0; d < D; d++) {
      dot += static_cast<double>(q[qi * D + d]) * c[j * D + d];
      cn += static_cast<double>(c[j * D + d]) * c[j * D + d];
    }
    all.push_back({j, cosine ? dot / std::max(std::sqrt(qn), 1e-12) / std::max(std::sqrt(cn), 1e-12) : dot});
  }
  std::stable_sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.second > b.second; });
  return all;
}

TEST(DenseSearch, EqualsBruteForceAcrossBlocks) {
  std::mt19937 rng(5);
  const int64_t Q = 37, D = 24;
  for (int64_t M : {1, 100, 1000, 1003}) {
    const std::vector<float> q = test::random_normal(Q * D, rng), c = test::random_normal(M * D, rng);
    for (bool cosine : {true, false})
      for (int64_t block : {7, 256, 16384}) {
        DenseSearchOptions opt;
        opt.k = 10;
        opt.block_rows = block;
        opt.similarity = cosine ? Similarity::Cosine : Similarity::Dot;
        const auto got = dense_search(q.data(), Q, c.data(), M, D, opt);
        for (int64_t i = 0; i < Q; i++) {
          const auto want = brute_force(q, i, c, M, D, cosine);
          ASSERT_EQ(got[i].size(), static_cast<size_t>(std::min<int64_t>(10, M)));
          for (size_t r = 0; r < got[i].size(); r++) {
            // fp32 products: a rank may swap only between scores within rounding of each other.
            EXPECT_NEAR(got[i][r].second, want[r].second, 1e-4 * std::max(1.0, std::fabs(want[r].second)))
                << "M " << M << " block " << block << " query " << i << " rank " << r;
            if (r + 1 < want.size() && want[r].second - want[r + 1].second > 1e-4 && (r == 0 || want[r - 1].second - want[r].second > 1e-4))
              EXPECT_EQ(got[i][r].first, want[r].first) << "M " << M << " block " << block << " query " << i << " rank " << r;
          }
        }
      }
  }
}

TEST(DenseSearch, TiesGoToTheLowerRowAndKMayExceedTheCorpus) {
  // Rows 0, 2 and 3 are the same direction: equal cosines, so the lower rows come first.
  const float q[] = {1, 0};
  const float c[] = {2, 0, 0, 1, 1, 0, 5, 0};
  DenseSearchOptions opt;
  opt.k = 10;
  opt.block_rows = 3;  // the tie spans two blocks
  const auto got = dense_search(q, 1, c, 4, 2, opt);
  ASSERT_EQ(got[0].size(), 4u);
  EXPECT_EQ(got[0][0].first, 0);
  EXPECT_EQ(got[0][1].first, 2);
  EXPECT_EQ(got[0][2].first, 3);
  EXPECT_EQ(got[0][3].first, 1);
  opt.similarity = Similarity::Dot;
  EXPECT_EQ(dense_search(q, 1, c, 4, 2, opt)[0][0].first, 3) << "dot product favours the longest row";
}

}  // namespace
}  // namespace embtune
