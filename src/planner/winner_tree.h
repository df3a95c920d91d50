// A tournament ("winner") tree over non-negative float or double keys: the best leaf in
// O(1), a changed key in O(log n), ties to the lowest index. It replaces the heaps of the
// packing and water-filling loops: every node keeps its winner's key and index, so an update
// is a short chain of compare-and-select with no data-dependent branch to mispredict.
#pragma once

#include <bit>
#include <cstdint>
#include <limits>
#include <span>
#include <type_traits>
#include <vector>

namespace eplb::planner {

// Unsigned integers that order like non-negative float / double values (IEEE 754 bit
// patterns do; -0 is taken as +0).
inline uint32_t order_bits(float v) { return v == 0.0f ? 0u : std::bit_cast<uint32_t>(v); }
inline uint64_t order_bits(double v) { return v == 0.0 ? 0u : std::bit_cast<uint64_t>(v); }

// Best = smallest value (least loaded pack).
struct SmallestFirst {
  template <typename U>
  static U rank(U bits) {
    return bits;
  }
};

// Best = largest value (largest per-replica load).
struct LargestFirst {
  template <typename U>
  static U rank(U bits) {
    return static_cast<U>(~bits);
  }
};

// T: float or double, values >= 0 and not NaN.
template <typename T, typename Order>
class WinnerTree {
 public:
  using Bits = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;

  // Leaves 0..values.size()-1 get `values`; reuses the buffers.
  void build(std::span<const T> values) {
    size_ = 1;
    while (size_ < values.size()) size_ *= 2;
    key_.resize(2 * size_);
    index_.resize(2 * size_);
    for (size_t i = 0; i < size_; ++i) {
      key_[size_ + i] = i < values.size() ? rank(values[i]) : kOut;
      index_[size_ + i] = static_cast<int32_t>(i);
    }
    for (size_t n = size_ - 1; n >= 1; --n) play(n);
  }
  // `n` leaves, all `value`.
  void build(size_t n, T value) {
    fill_.assign(n, value);
    build(fill_);
  }

  // The leaf with the best value, the lowest index among equals.
  int32_t top() const { return index_[1]; }

  void update(int32_t leaf, T value) { set(leaf, rank(value)); }
  // Takes a leaf out of the competition (it loses to every leaf still in).
  void remove(int32_t leaf) { set(leaf, kOut); }

 private:
  static constexpr Bits kOut = std::numeric_limits<Bits>::max();
  static Bits rank(T value) {
    // kOut stays above every real key: NaN-free values never reach all ones.
    return Order::rank(order_bits(value));
  }
  void set(int32_t leaf, Bits key) {
    key_[size_ + static_cast<size_t>(leaf)] = key;
    for (size_t n = (size_ + static_cast<size_t>(leaf)) / 2; n >= 1; n /= 2) play(n);
  }
  // Winner of node n from its children; the left child (lower indices) wins ties.
  void play(size_t n) {
    const Bits left = key_[2 * n];
    const Bits right = key_[2 * n + 1];
    const bool right_wins = right < left;
    key_[n] = right_wins ? right : left;
    index_[n] = right_wins ? index_[2 * n + 1] : index_[2 * n];
  }

  size_t size_ = 0;             // leaves, rounded up to a power of two
  std::vector<Bits> key_;       // [2 * size_] winner's ordered key per node; leaves at size_
  std::vector<int32_t> index_;  // [2 * size_] winner's leaf per node; index_[1] the root's
  std::vector<T> fill_;
};

}  // namespace eplb::planner
