// Per-step hook times of the balancer (before_forward + after_forward) as log-linear
// histograms: 32 sub-buckets per power of two (values within 1/32 = 3% of the truth), so
// adding a step is O(1) and a quantile is one pass over ~1900 counters, with no allocation
// after construction. Two histograms: since construction, and since the current cycle began.
// Internal to src/runtime; serving thread only.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

namespace eplb::runtime {

struct HookQuantiles {
  double p50_us = 0;
  double p99_us = 0;
  double max_us = 0;
};

class HookHistogram {
 public:
  static constexpr int kSubBits = 5;
  static constexpr int64_t kSub = int64_t{1} << kSubBits;  // 32
  static constexpr size_t kBuckets = static_cast<size_t>(kSub + (63 - kSubBits) * kSub);

  HookHistogram() : counts_(kBuckets, 0) {}

  void add(int64_t ns) {
    ns = std::max<int64_t>(ns, 0);
    ++counts_[bucket(ns)];
    ++count_;
    max_ = std::max(max_, ns);
  }

  void clear() {
    std::fill(counts_.begin(), counts_.end(), 0);
    count_ = 0;
    max_ = 0;
  }

  HookQuantiles quantiles() const {
    HookQuantiles q;
    if (count_ == 0) return q;
    q.p50_us = at(0.50);
    q.p99_us = at(0.99);
    q.max_us = static_cast<double>(max_) / 1000.0;
    return q;
  }

 private:
  static size_t bucket(int64_t v) {
    if (v < kSub) return static_cast<size_t>(v);
    const int e = 63 - std::countl_zero(static_cast<uint64_t>(v));  // >= kSubBits
    const int64_t sub = (v >> (e - kSubBits)) & (kSub - 1);
    return static_cast<size_t>(kSub + (e - kSubBits) * kSub + sub);
  }
  // Midpoint of a bucket, in ns.
  static double midpoint(size_t b) {
    if (b < static_cast<size_t>(kSub)) return static_cast<double>(b);
    const int64_t e = static_cast<int64_t>(b - static_cast<size_t>(kSub)) / kSub + kSubBits;
    const int64_t sub = static_cast<int64_t>(b - static_cast<size_t>(kSub)) % kSub;
    const double low = static_cast<double>((kSub + sub) << (e - kSubBits));
    return low + static_cast<double>(int64_t{1} << (e - kSubBits)) / 2.0;
  }
  // The q-quantile (nearest rank), in microseconds, never above the exact maximum.
  double at(double q) const {
    const auto rank =
        std::max<int64_t>(1, static_cast<int64_t>(std::ceil(q * static_cast<double>(count_))));
    int64_t seen = 0;
    for (size_t b = 0; b < counts_.size(); ++b) {
      seen += counts_[b];
      if (seen >= rank) return std::min(midpoint(b), static_cast<double>(max_)) / 1000.0;
    }
    return static_cast<double>(max_) / 1000.0;
  }

  std::vector<int64_t> counts_;
  int64_t count_ = 0;
  int64_t max_ = 0;
};

class HookTimer {
 public:
  void add(int64_t ns) {
    total_.add(ns);
    cycle_.add(ns);
  }
  void start_cycle() { cycle_.clear(); }
  HookQuantiles total() const { return total_.quantiles(); }
  HookQuantiles cycle() const { return cycle_.quantiles(); }

 private:
  HookHistogram total_;
  HookHistogram cycle_;
};

}  // namespace eplb::runtime
