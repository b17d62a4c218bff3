// bfloat16 rounding of one float, the one rule every bf16 path shares: round to nearest even,
// NaN stays a (quiet) NaN. Not a bf16 type: values travel as uint16 bit patterns.
#pragma once

#include <bit>
#include <cstdint>

namespace embtune {

inline uint16_t bf16_round(float x) {
  const uint32_t u = std::bit_cast<uint32_t>(x);
  const bool nan = (u & 0x7fffffffu) > 0x7f800000u;
  return static_cast<uint16_t>(nan ? ((u >> 16) | 0x40u) : (u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

// The float a bf16 bit pattern stands for (exact).
inline float bf16_to_float(uint16_t b) { return std::bit_cast<float>(static_cast<uint32_t>(b) << 16); }

}  // namespace embtune
