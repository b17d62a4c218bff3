// Duplicate-free batching for contrastive training.
// Not a random sampler: given the same order, it always cuts the same batches.
#include "data/batching.h"

#include <algorithm>
#include <deque>
#include <unordered_set>

namespace embtune {

std::vector<std::vector<int64_t>> batches_without_duplicates(const std::vector<int64_t>& order,
                                                             const std::vector<std::vector<size_t>>& hashes,
                                                             int64_t batch_size) {
  std::vector<std::vector<int64_t>> batches;
  std::deque<int64_t> pending(order.begin(), order.end());
  while (!pending.empty()) {
    std::vector<int64_t> batch, deferred;
    std::unordered_set<size_t> seen;
    while (!pending.empty() && static_cast<int64_t>(batch.size()) < batch_size) {
      const int64_t row = pending.front();
      pending.pop_front();
      bool clash = false;
      for (size_t h : hashes[row]) clash = clash || seen.count(h);
      if (clash) {
        deferred.push_back(row);
        continue;
      }
      for (size_t h : hashes[row]) seen.insert(h);
      batch.push_back(row);
    }
    pending.insert(pending.begin(), deferred.begin(), deferred.end());
    batches.push_back(std::move(batch));
  }
  return batches;
}

std::vector<int64_t> group_by_length(const std::vector<int64_t>& order, const std::vector<int64_t>& lengths,
                                     int64_t batch_size) {
  std::vector<int64_t> out(order);
  const size_t mega = static_cast<size_t>(std::max<int64_t>(1, 50 * batch_size));
  for (size_t i = 0; i < out.size(); i += mega) {
    auto end = out.begin() + std::min(out.size(), i + mega);
    std::stable_sort(out.begin() + i, end, [&](int64_t a, int64_t b) { return lengths[a] > lengths[b]; });
  }
  return out;
}

}  // namespace embtune
