// Writing and reading NumPy .npy files (format version 1.0, little-endian float32, C order).
// Not a general array library: embeddings are the only arrays we exchange this way.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace embtune {

// Writes a (rows, cols) float32 array atomically.
Status npy_write_f32(const std::string& path, const float* data, int64_t rows, int64_t cols);
// Reads a 2-D little-endian float32 C-order array.
Status npy_read_f32(const std::string& path, std::vector<float>* data, int64_t* rows, int64_t* cols);

}  // namespace embtune
