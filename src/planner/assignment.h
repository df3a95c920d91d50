// Maximum-weight perfect matching of n rows to n columns (the Hungarian method), to relabel a
// fresh plan's ranks so that as many replicas as possible stay where they are.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace eplb::planner {

// Scratch of max_weight_assignment(), reused between calls.
struct AssignmentScratch {
  std::vector<int64_t> u, v, way, minv;
  std::vector<int32_t> p;
  std::vector<char> used;
};

// `weight` [n, n] row-major, integers >= 0 -> `column_of_row` [n], a permutation maximising
// the sum of weight[row, column_of_row[row]]. O(n^3).
void max_weight_assignment(std::span<const int32_t> weight, int32_t n,
                           std::span<int32_t> column_of_row, AssignmentScratch& scratch);

}  // namespace eplb::planner
