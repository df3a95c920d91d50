#include "planner/assignment.h"

#include <algorithm>
#include <limits>

namespace eplb::planner {

void max_weight_assignment(std::span<const int32_t> weight, int32_t n,
                           std::span<int32_t> column_of_row, AssignmentScratch& scratch) {
  // Shortest augmenting paths with potentials on costs -weight (e-maxx's formulation, rows and
  // columns 1-based, 0 a sentinel column).
  const auto un = static_cast<size_t>(n);
  constexpr int64_t kInf = std::numeric_limits<int64_t>::max() / 4;
  auto& u = scratch.u;
  auto& v = scratch.v;
  auto& way = scratch.way;
  auto& minv = scratch.minv;
  auto& p = scratch.p;
  auto& used = scratch.used;
  u.assign(un + 1, 0);
  v.assign(un + 1, 0);
  p.assign(un + 1, 0);
  way.assign(un + 1, 0);
  auto cost = [&](size_t row, size_t col) {
    return -static_cast<int64_t>(weight[(row - 1) * un + (col - 1)]);
  };
  for (size_t i = 1; i <= un; ++i) {
    p[0] = static_cast<int32_t>(i);
    size_t j0 = 0;
    minv.assign(un + 1, kInf);
    used.assign(un + 1, 0);
    do {
      used[j0] = 1;
      const auto i0 = static_cast<size_t>(p[j0]);
      int64_t delta = kInf;
      size_t j1 = 0;
      for (size_t j = 1; j <= un; ++j) {
        if (used[j] != 0) continue;
        const int64_t cur = cost(i0, j) - u[i0] - v[j];
        if (cur < minv[j]) {
          minv[j] = cur;
          way[j] = static_cast<int64_t>(j0);
        }
        if (minv[j] < delta) {
          delta = minv[j];
          j1 = j;
        }
      }
      for (size_t j = 0; j <= un; ++j) {
        if (used[j] != 0) {
          u[static_cast<size_t>(p[j])] += delta;
          v[j] -= delta;
        } else {
          minv[j] -= delta;
        }
      }
      j0 = j1;
    } while (p[j0] != 0);
    do {
      const auto j1 = static_cast<size_t>(way[j0]);
      p[j0] = p[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  for (size_t j = 1; j <= un; ++j) column_of_row[static_cast<size_t>(p[j]) - 1] = static_cast<int32_t>(j - 1);
}

}  // namespace eplb::planner
