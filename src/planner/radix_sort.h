// Stable LSD radix sort of 32-bit keys: the sort of the packing loops (a few hundred items per
// layer), where std::sort's comparisons and mispredicted branches cost more than the packing.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace eplb::planner {

// Scratch of radix_sort_descending(), reused between calls.
struct RadixScratch {
  std::array<std::array<uint32_t, 256>, 4> histogram;  // [digit position][digit value]
  std::vector<uint64_t> items;                         // [n] (~key << 32 | index)
  std::vector<uint64_t> buffer;                        // [n]
};

// `order` [n] receives 0..n-1 sorted by `key` [n] descending, equal keys by ascending index
// (the order of std::sort on (key descending, index ascending)). n < 2^32.
void radix_sort_descending(std::span<const uint32_t> key, std::span<int32_t> order,
                           RadixScratch& scratch);

}  // namespace eplb::planner
