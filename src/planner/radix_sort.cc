#include "planner/radix_sort.h"

#include <algorithm>

namespace eplb::planner {
namespace {

// Stable counting-sort passes over the digits [first_digit, 4) of the high halves of `items`.
void radix_passes(std::vector<uint64_t>& items, std::vector<uint64_t>& buffer, size_t first_digit,
                  RadixScratch& scratch) {
  const size_t n = items.size();
  for (size_t d = first_digit; d < 4; ++d) {
    auto& h = scratch.histogram[d];
    const unsigned shift = 32 + 8 * static_cast<unsigned>(d);
    if (h[(items[0] >> shift) & 0xffu] == n) continue;  // one digit value for all
    uint32_t sum = 0;
    for (uint32_t& count : h) {
      const uint32_t c = count;
      count = sum;
      sum += c;
    }
    for (uint64_t item : items) buffer[h[(item >> shift) & 0xffu]++] = item;
    items.swap(buffer);
  }
}

}  // namespace

void radix_sort_descending(std::span<const uint32_t> key, std::span<int32_t> order,
                           RadixScratch& scratch) {
  const size_t n = key.size();
  if (n == 0) return;
  auto& items = scratch.items;
  auto& buffer = scratch.buffer;
  items.resize(n);
  buffer.resize(n);
  scratch.histogram[2].fill(0);
  scratch.histogram[3].fill(0);
  // Ascending order of ~key is descending order of key; the index rides in the low half, so a
  // stable sort of the high half keeps equal keys by ascending index.
  for (size_t i = 0; i < n; ++i) {
    const uint32_t k = ~key[i];
    items[i] = static_cast<uint64_t>(k) << 32 | static_cast<uint32_t>(i);
    ++scratch.histogram[2][(k >> 16) & 0xffu];
    ++scratch.histogram[3][k >> 24];
  }
  // The top 16 bits (a float's sign, exponent and 7 mantissa bits) by two counting passes;
  // then the few items that share them by insertion sort on the whole item. Should many
  // share them, the low 16 bits get their counting passes too (a full LSD sort).
  radix_passes(items, buffer, 2, scratch);
  size_t moves = 0;
  const size_t budget = 4 * n;
  for (size_t i = 1; i < n && moves <= budget; ++i) {
    const uint64_t item = items[i];
    size_t j = i;
    for (; j > 0 && items[j - 1] > item; --j) items[j] = items[j - 1];
    items[j] = item;
    moves += i - j;
  }
  if (moves > budget) {
    for (auto& h : scratch.histogram) h.fill(0);  // the passes above made them offsets
    for (size_t i = 0; i < n; ++i) {
      const uint32_t k = ~key[i];
      items[i] = static_cast<uint64_t>(k) << 32 | static_cast<uint32_t>(i);
      for (size_t d = 0; d < 4; ++d) ++scratch.histogram[d][(k >> (8 * d)) & 0xffu];
    }
    radix_passes(items, buffer, 0, scratch);
  }
  for (size_t i = 0; i < n; ++i) order[i] = static_cast<int32_t>(items[i] & 0xffffffffu);
}

}  // namespace eplb::planner
