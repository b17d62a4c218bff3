// Exact dense search against brute-force scoring on random embeddings, with corpora that are
// and are not multiples of the block size, both similarities, ties and k beyond the corpus; the
// fast top-k selection against its scalar twin; DenseTopK fed in pieces against one search.
// Not embedding (the model tests) and not metrics (test_eval_metrics.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
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

// got must hold each query's min(k, M) best rows of brute_force: scores within fp32 rounding, and
// the same row wherever the score is clear of its neighbours by more than rounding.
void expect_brute_force(const DenseHits& got, const std::vector<float>& q, int64_t Q, const std::vector<float>& c,
                        int64_t M, int64_t D, int64_t k, bool cosine, const std::string& where) {
  ASSERT_EQ(got.size(), static_cast<size_t>(Q)) << where;
  for (int64_t i = 0; i < Q; i++) {
    const auto want = brute_force(q, i, c, M, D, cosine);
    ASSERT_EQ(got[i].size(), static_cast<size_t>(std::min(k, M))) << where;
    for (size_t r = 0; r < got[i].size(); r++) {
      // fp32 products: a rank may swap only between scores within rounding of each other.
      EXPECT_NEAR(got[i][r].second, want[r].second, 1e-4 * std::max(1.0, std::fabs(want[r].second)))
          << where << " query " << i << " rank " << r;
      if (r + 1 < want.size() && want[r].second - want[r + 1].second > 1e-4 &&
          (r == 0 || want[r - 1].second - want[r].second > 1e-4)) {
        EXPECT_EQ(got[i][r].first, want[r].first) << where << " query " << i << " rank " << r;
      }
    }
  }
}

TEST(DenseSearch, EqualsBruteForceAcrossBlocks) {
  std::mt19937 rng(5);
  for (auto [Q, D] : {std::pair<int64_t, int64_t>{37, 24}, {1, 7}}) {
    for (int64_t M : {1, 100, 1000, 1003}) {
      const std::vector<float> q = test::random_normal(Q * D, rng), c = test::random_normal(M * D, rng);
      for (bool cosine : {true, false})
        for (int64_t block : {7, 256, 2048, 16384}) {
          DenseSearchOptions opt;
          opt.k = 10;
          opt.block_rows = block;
          opt.similarity = cosine ? Similarity::Cosine : Similarity::Dot;
          expect_brute_force(dense_search(q.data(), Q, c.data(), M, D, opt), q, Q, c, M, D, opt.k, cosine,
                             "Q " + std::to_string(Q) + " D " + std::to_string(D) + " M " + std::to_string(M) +
                                 " block " + std::to_string(block));
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

// The fast selection against its scalar twin: the same heap, element for element, after every
// piece, on scores with many ties (a few distinct values), NaNs, and pieces of odd sizes.
TEST(DenseTopKOffer, FastEqualsScalar) {
  std::mt19937 rng(11);
  for (int64_t k : {1, 5, 100, 3000}) {
    for (int distinct : {3, 50, 100000}) {
      std::uniform_int_distribution<int> level(0, distinct - 1);
      std::vector<float> s(2500);
      for (float& x : s) x = static_cast<float>(level(rng)) / static_cast<float>(distinct);
      if (distinct == 50) s[7] = s[1800] = std::numeric_limits<float>::quiet_NaN();
      std::vector<DenseHit> fast, scalar;
      int64_t first = 0;
      for (int64_t piece : {1, 17, 0, 333, 15, 16, 1000, 1118}) {
        dense_topk_offer(fast, k, s.data() + first, piece, first);
        dense_topk_offer_scalar(scalar, k, s.data() + first, piece, first);
        first += piece;
        ASSERT_EQ(fast.size(), scalar.size()) << "k " << k << " distinct " << distinct << " rows " << first;
        for (size_t i = 0; i < fast.size(); i++) {
          EXPECT_EQ(fast[i].first, scalar[i].first) << "k " << k << " distinct " << distinct << " at " << i;
          EXPECT_TRUE(fast[i].second == scalar[i].second || (std::isnan(fast[i].second) && std::isnan(scalar[i].second)));
        }
      }
      ASSERT_EQ(first, static_cast<int64_t>(s.size()));
    }
  }
}

// Small integers make every score exact in fp32 whatever the order of the products' sums, so
// pieces, blocks and brute force must agree bit for bit, ties (many here) included.
TEST(DenseTopK, PiecesEqualOneSearchExactly) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> small(-2, 2);
  for (auto [Q, D, M] : {std::tuple<int64_t, int64_t, int64_t>{29, 7, 1003}, {1, 5, 700}, {64, 33, 2049}}) {
    std::vector<float> q(Q * D), c(M * D);
    for (float& x : q) x = static_cast<float>(small(rng));
    for (float& x : c) x = static_cast<float>(small(rng));
    std::vector<std::vector<std::pair<int64_t, double>>> want(Q);
    for (int64_t i = 0; i < Q; i++) want[i] = brute_force(q, i, c, M, D, false);
    for (int64_t k : std::vector<int64_t>{1, 10, 100, M + 5}) {
      for (int64_t block : {64, 100, 16384}) {
        DenseSearchOptions opt;
        opt.k = k;
        opt.block_rows = block;
        opt.similarity = Similarity::Dot;
        const DenseHits whole = dense_search(q.data(), Q, c.data(), M, D, opt);
        DenseTopK top(q.data(), Q, D, opt);
        int64_t at = 0;
        for (int64_t piece : {1, 0, 63, 129, 1 << 20}) {  // the last takes the rest
          const int64_t n = std::min(piece, M - at);
          top.add(c.data() + at * D, n);
          at += n;
        }
        ASSERT_EQ(at, M);
        ASSERT_EQ(top.rows_seen(), M);
        const DenseHits pieces = top.finish();
        const std::string where = "Q " + std::to_string(Q) + " M " + std::to_string(M) + " k " + std::to_string(k) +
                                  " block " + std::to_string(block);
        ASSERT_EQ(pieces, whole) << where;
        for (int64_t i = 0; i < Q; i++) {
          ASSERT_EQ(whole[i].size(), static_cast<size_t>(std::min(k, M))) << where;
          for (size_t r = 0; r < whole[i].size(); r++) {
            EXPECT_EQ(whole[i][r].first, want[i][r].first) << where << " query " << i << " rank " << r;
            EXPECT_EQ(whole[i][r].second, static_cast<float>(want[i][r].second)) << where << " query " << i;
          }
        }
      }
    }
  }
}

// Cosine through pieces of odd sizes: the same hits as brute force, within rounding.
TEST(DenseTopK, CosinePiecesEqualBruteForce) {
  std::mt19937 rng(8);
  const int64_t Q = 13, D = 31, M = 1501;
  const std::vector<float> q = test::random_normal(Q * D, rng), c = test::random_normal(M * D, rng);
  DenseSearchOptions opt;
  opt.k = 20;
  opt.block_rows = 97;
  DenseTopK top(q.data(), Q, D, opt);
  for (int64_t at = 0, piece = 1; at < M; at += piece, piece = piece * 3 + 1)
    top.add(c.data() + at * D, std::min(piece, M - at));
  expect_brute_force(top.finish(), q, Q, c, M, D, opt.k, true, "cosine pieces");
}

}  // namespace
}  // namespace embtune
