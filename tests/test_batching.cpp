// Duplicate-free batching: no text twice in a batch, every row exactly once, order kept.
// Not the trainer (test_train_cli.cpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "data/batching.h"

namespace embtune {
namespace {

TEST(Batching, DefersDuplicatesAndKeepsOrder) {
  // Rows 0 and 1 share a positive; row 3 repeats row 0's anchor.
  std::vector<std::vector<size_t>> hashes{{10, 20}, {11, 20}, {12, 21}, {10, 22}, {13, 23}};
  auto b = batches_without_duplicates({0, 1, 2, 3, 4}, hashes, 2);
  EXPECT_EQ(b, (std::vector<std::vector<int64_t>>{{0, 2}, {1, 3}, {4}}));
}

TEST(Batching, EveryRowOnceNoDuplicateInABatchOnRandomData) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<size_t> text(0, 40);
  const int64_t n = 300;
  std::vector<std::vector<size_t>> hashes(n);
  for (auto& h : hashes) h = {text(rng), 1000 + text(rng), 2000 + text(rng)};
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; i++) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  auto batches = batches_without_duplicates(order, hashes, 8);
  std::vector<int> count(n, 0);
  for (auto& batch : batches) {
    EXPECT_LE(batch.size(), 8u);
    EXPECT_FALSE(batch.empty());
    std::set<size_t> seen;
    for (int64_t r : batch) {
      count[r]++;
      for (size_t h : hashes[r]) EXPECT_TRUE(seen.insert(h).second) << "text " << h << " twice in a batch";
    }
  }
  for (int64_t i = 0; i < n; i++) EXPECT_EQ(count[i], 1) << i;
}

}  // namespace
}  // namespace embtune
