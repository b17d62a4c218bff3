// Batches for in-batch-negative losses: rows in a given order, cut into batches in which no
// text appears twice. Not shuffling (the trainer orders rows) and not tokenization.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace embtune {

// As sentence-transformers' NoDuplicatesBatchSampler: rows are taken in `order`; a row one of
// whose text hashes (hashes[row]) is already in the batch waits for a later batch, keeping its
// place ahead of the rows not yet taken. Every row lands in exactly one batch; batches hold at
// most batch_size rows (the last ones may hold fewer).
std::vector<std::vector<int64_t>> batches_without_duplicates(const std::vector<int64_t>& order,
                                                             const std::vector<std::vector<size_t>>& hashes,
                                                             int64_t batch_size);

// As transformers' LengthGroupedSampler (group_by_length): `order` (already shuffled) is cut into
// mega-batches of 50 × batch_size rows, each sorted by length, longest first (stable), so that
// batches hold rows of similar length while the mega-batches stay in random order.
std::vector<int64_t> group_by_length(const std::vector<int64_t>& order, const std::vector<int64_t>& lengths,
                                     int64_t batch_size);

}  // namespace embtune
