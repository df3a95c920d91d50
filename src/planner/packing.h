// Capacity-constrained packing of weighted items (replicas onto ranks, groups onto nodes):
// every pack holds exactly `capacity` items, and we want the heaviest pack as light as
// possible.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "planner/winner_tree.h"

namespace eplb::planner {

// `count` items of `weight` tokens each that share `key` (the logical expert of replicas,
// the group of a group): the unit that longest-first packing places together.
struct ItemRun {
  double weight = 0;
  int32_t key = 0;
  int32_t count = 1;
};

// Sorts runs by weight descending, then position (deterministic). Weights that agree to 32
// mantissa bits (relative 2^-32) count as equal. At most 2^20 runs; `order` and `sorted` are
// scratch.
void sort_runs(std::vector<ItemRun>& runs, std::vector<uint64_t>& order,
               std::vector<ItemRun>& sorted);

// Items assigned to packs: pack p owns item positions [p * capacity, (p + 1) * capacity);
// for ranks, position = slot, so `key` is the rank-major phy2log.
struct Packing {
  int32_t num_packs = 0;
  int32_t capacity = 0;
  std::vector<int32_t> key;      // [num_packs * capacity]
  std::vector<double> weight;    // [num_packs * capacity] tokens of each item
  std::vector<double> load;      // [num_packs] sum of the pack's weights
  std::vector<int32_t> fill;     // [num_packs] items placed so far (while packing)
  std::vector<int32_t> by_load;  // [num_packs] scratch of refine_swaps(): packs by load

  // Empty packs; reuses the buffers.
  void reset(int32_t packs, int32_t items_per_pack);
  // `packs` packs holding `keys` [packs * items_per_pack] in order, item i weighing
  // key_weight[keys[i]]; loads set. Reuses the buffers.
  void assign(std::span<const int32_t> keys, int32_t packs, std::span<const double> key_weight);
  // Recomputes load[pack] from its items.
  void update_load(int32_t pack);
  // The pack of largest load, lowest index among equals.
  int32_t hottest() const;
  // Occurrences of `item_key` in `pack`.
  int32_t count_key(int32_t pack, int32_t item_key) const;
  // Exchanges the items at positions i and j and updates both packs' loads.
  void swap_items(size_t i, size_t j);
  // Restores weight-descending order within the pack of position `pos` after its item changed.
  void resort_item(size_t pos);
  // Sorts every pack's items by weight, heaviest first (insertion sort: packs are small).
  void sort_items();
  // Exchanges the item at position i of pack `a` with the one at position j of pack `b`,
  // recomputes both loads and keeps both packs heaviest first. The hot path of refinement:
  // no division by the capacity.
  void exchange(int32_t a, size_t i, int32_t b, size_t j);
};

// Scratch of lpt_pack(), reused between calls.
struct LptScratch {
  WinnerTree<double, SmallestFirst> packs;  // loads of the packs with room
  std::vector<int32_t> taken;               // [num_packs] packs receiving the current run
};

// Longest-first packing with capacity: runs in the given order (see sort_runs), each item to
// the least loaded pack with room, lowest index among equals. With `spread`, the items of one
// run go to distinct packs while enough packs have room (the least loaded ones). `packing`
// must be reset() with room for every item.
void lpt_pack(std::span<const ItemRun> runs, bool spread, Packing& packing, LptScratch& scratch);

}  // namespace eplb::planner
