// The least of a few keys (the packs of one node: a few dozen) in two levels of eight, for
// the longest-first packing loop: replacing the least key and finding the next costs two
// branch-free passes of eight compares, cheaper than a winner tree's chain of dependent loads
// and stores.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>

namespace eplb::planner {

// A key with the index in its low half, so the least key is the least value at the lowest
// index. `value_bits` orders like the value (order_bits() of a non-negative float).
inline int64_t argmin_key(uint32_t value_bits, int32_t index) {
  return static_cast<int64_t>(static_cast<uint64_t>(value_bits) << 32 |
                              static_cast<uint32_t>(index));
}
inline int32_t argmin_index(int64_t key) { return static_cast<int32_t>(key & 0xffffffff); }
inline uint32_t argmin_value_bits(int64_t key) { return static_cast<uint32_t>(key >> 32); }

// Up to kMaxKeys keys (argmin_key() values, or kOut for a pack taken out).
class SmallArgmin {
 public:
  static constexpr int32_t kMaxKeys = 64;
  static constexpr int64_t kOut = std::numeric_limits<int64_t>::max();

  // `n` keys (n <= kMaxKeys), key i = argmin_key(0, i). Returns the least key.
  int64_t reset(int32_t n) {
    key_.fill(kOut);
    for (int32_t i = 0; i < n; ++i) key_[static_cast<size_t>(i)] = argmin_key(0, i);
    for (size_t b = 0; b < 8; ++b) block_[b] = min8(&key_[8 * b]);
    return min8(block_.data());
  }

  // Sets key i to `key`; returns the least key.
  int64_t set(int32_t i, int64_t key) {
    const auto u = static_cast<size_t>(i);
    const size_t b = u / 8;
    key_[u] = key;
    block_[b] = min8(&key_[b * 8]);
    return min8(block_.data());
  }

 private:
  static int64_t min8(const int64_t* k) {
    return std::min(std::min(std::min(k[0], k[1]), std::min(k[2], k[3])),
                    std::min(std::min(k[4], k[5]), std::min(k[6], k[7])));
  }
  std::array<int64_t, kMaxKeys> key_{};
  std::array<int64_t, 8> block_{};  // least key of each block of eight
};

}  // namespace eplb::planner
