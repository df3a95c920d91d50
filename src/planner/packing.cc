#include "planner/packing.h"

#include <algorithm>

namespace eplb::planner {

void sort_runs(std::vector<ItemRun>& runs, std::vector<uint64_t>& order,
               std::vector<ItemRun>& sorted) {
  // One integer per run: the weight's top 44 bits (sign, exponent and 32 mantissa bits)
  // complemented for descending order, then the run's position (< 2^20) for the tie-break.
  order.resize(runs.size());
  for (size_t i = 0; i < runs.size(); ++i) {
    order[i] = (~order_bits(runs[i].weight) & ~uint64_t{0xfffff}) | static_cast<uint64_t>(i);
  }
  std::sort(order.begin(), order.end());
  sorted.resize(runs.size());
  for (size_t i = 0; i < runs.size(); ++i) sorted[i] = runs[order[i] & 0xfffff];
  runs.swap(sorted);
}

void Packing::reset(int32_t packs, int32_t items_per_pack) {
  num_packs = packs;
  capacity = items_per_pack;
  const auto n = static_cast<size_t>(packs) * static_cast<size_t>(items_per_pack);
  key.assign(n, -1);
  weight.assign(n, 0.0);
  load.assign(static_cast<size_t>(packs), 0.0);
  fill.assign(static_cast<size_t>(packs), 0);
}

void Packing::assign(std::span<const int32_t> keys, int32_t packs,
                     std::span<const double> key_weight) {
  reset(packs, static_cast<int32_t>(keys.size()) / packs);
  for (size_t i = 0; i < keys.size(); ++i) {
    key[i] = keys[i];
    weight[i] = key_weight[static_cast<size_t>(keys[i])];
  }
  for (int32_t p = 0; p < packs; ++p) update_load(p);
}

void Packing::update_load(int32_t pack) {
  const auto first = static_cast<size_t>(pack) * static_cast<size_t>(capacity);
  double sum = 0;
  for (size_t i = first; i < first + static_cast<size_t>(capacity); ++i) sum += weight[i];
  load[static_cast<size_t>(pack)] = sum;
}

int32_t Packing::hottest() const {
  return static_cast<int32_t>(std::max_element(load.begin(), load.end()) - load.begin());
}

int32_t Packing::count_key(int32_t pack, int32_t item_key) const {
  const auto first = static_cast<size_t>(pack) * static_cast<size_t>(capacity);
  int32_t n = 0;
  for (size_t i = first; i < first + static_cast<size_t>(capacity); ++i) n += key[i] == item_key;
  return n;
}

void Packing::swap_items(size_t i, size_t j) {
  std::swap(key[i], key[j]);
  std::swap(weight[i], weight[j]);
  const auto cap = static_cast<size_t>(capacity);
  update_load(static_cast<int32_t>(i / cap));
  update_load(static_cast<int32_t>(j / cap));
}

namespace {

// Restores heaviest-first order in the pack [first, last] after the item at `pos` changed.
void resort_in(Packing& pk, size_t first, size_t last, size_t pos) {
  while (pos > first && pk.weight[pos - 1] < pk.weight[pos]) {
    std::swap(pk.weight[pos - 1], pk.weight[pos]);
    std::swap(pk.key[pos - 1], pk.key[pos]);
    --pos;
  }
  while (pos < last && pk.weight[pos + 1] > pk.weight[pos]) {
    std::swap(pk.weight[pos + 1], pk.weight[pos]);
    std::swap(pk.key[pos + 1], pk.key[pos]);
    ++pos;
  }
}

}  // namespace

void Packing::resort_item(size_t pos) {
  const auto cap = static_cast<size_t>(capacity);
  const size_t first = pos / cap * cap;
  resort_in(*this, first, first + cap - 1, pos);
}

void Packing::sort_items() {
  const auto cap = static_cast<size_t>(capacity);
  for (size_t first = 0; first < key.size(); first += cap) {
    for (size_t pos = first + 1; pos < first + cap; ++pos) {
      if (weight[pos - 1] < weight[pos]) resort_in(*this, first, first + cap - 1, pos);
    }
  }
}

void Packing::exchange(int32_t a, size_t i, int32_t b, size_t j) {
  std::swap(key[i], key[j]);
  std::swap(weight[i], weight[j]);
  update_load(a);
  update_load(b);
  const auto cap = static_cast<size_t>(capacity);
  const size_t a_first = static_cast<size_t>(a) * cap;
  const size_t b_first = static_cast<size_t>(b) * cap;
  resort_in(*this, a_first, a_first + cap - 1, i);
  resort_in(*this, b_first, b_first + cap - 1, j);
}

void lpt_pack(std::span<const ItemRun> runs, bool spread, Packing& packing, LptScratch& scratch) {
  auto& packs = scratch.packs;
  auto& taken = scratch.taken;
  packs.build(packing.load);
  taken.resize(static_cast<size_t>(packing.num_packs));
  int32_t open = 0;  // packs with room
  for (int32_t p = 0; p < packing.num_packs; ++p) {
    if (packing.fill[static_cast<size_t>(p)] < packing.capacity) {
      ++open;
    } else {
      packs.remove(p);
    }
  }
  for (const ItemRun& run : runs) {
    int32_t left = run.count;
    while (left > 0 && open > 0) {
      // The `take` least loaded packs with room each get one item of the run.
      const int32_t take = spread ? std::min(left, open) : 1;
      taken[0] = packs.top();
      for (int32_t t = 1; t < take; ++t) {  // a single pack needs no removal: it is updated below
        packs.remove(taken[static_cast<size_t>(t - 1)]);
        taken[static_cast<size_t>(t)] = packs.top();
      }
      for (int32_t t = 0; t < take; ++t) {
        const int32_t pack = taken[static_cast<size_t>(t)];
        const auto up = static_cast<size_t>(pack);
        const size_t pos =
            up * static_cast<size_t>(packing.capacity) + static_cast<size_t>(packing.fill[up]++);
        packing.key[pos] = run.key;
        packing.weight[pos] = run.weight;
        packing.load[up] += run.weight;
        if (packing.fill[up] < packing.capacity) {
          packs.update(pack, packing.load[up]);
        } else {
          packs.remove(pack);
          --open;
        }
      }
      left -= take;
    }
  }
}

}  // namespace eplb::planner
