// Prometheus exposition of BalancerMetrics and the hook-time histogram behind its quantiles.
#include "eplb/runtime/metrics.h"

#include <gtest/gtest.h>

#include <string>

#include "runtime/hook_timer.h"

namespace eplb {
namespace {

TEST(Metrics, PrometheusTextHasHelpTypeAndLabel) {
  BalancerMetrics m;
  m.cycles = 3;
  m.transfer_failures = 2;
  m.hook_us_p99 = 12.5;
  m.last_cycle.imbalance_after_mean = 1.25;
  const std::string text = format_prometheus(m, 7);
  EXPECT_NE(text.find("# HELP eplb_cycles_total Ended rebalancing cycles, failed ones included.\n"
                      "# TYPE eplb_cycles_total counter\n"
                      "eplb_cycles_total{rank=\"7\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("eplb_transfer_failures_total{rank=\"7\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE eplb_hook_us_p99 gauge\neplb_hook_us_p99{rank=\"7\"} 12.5\n"),
            std::string::npos);
  EXPECT_NE(text.find("eplb_last_cycle_imbalance_after_mean{rank=\"7\"} 1.25\n"),
            std::string::npos);
  // Every sample line is preceded by its HELP and TYPE lines.
  size_t samples = 0, types = 0;
  for (size_t pos = 0; pos < text.size();) {
    const size_t end = text.find('\n', pos);
    const std::string line = text.substr(pos, end - pos);
    if (line.rfind("# TYPE", 0) == 0) ++types;
    if (line.rfind("eplb_", 0) == 0) ++samples;
    pos = end + 1;
  }
  EXPECT_EQ(samples, types);
  EXPECT_GE(samples, 15U);
}

TEST(HookHistogram, QuantilesWithinThreePercent) {
  runtime::HookHistogram h;
  EXPECT_EQ(h.quantiles().p99_us, 0.0);
  // 1..1000 us: p50 = 500 us, p99 = 990 us, max exact.
  for (int64_t us = 1; us <= 1000; ++us) h.add(us * 1000);
  const runtime::HookQuantiles q = h.quantiles();
  EXPECT_NEAR(q.p50_us, 500.0, 500.0 * 0.03);
  EXPECT_NEAR(q.p99_us, 990.0, 990.0 * 0.03);
  EXPECT_EQ(q.max_us, 1000.0);
  h.clear();
  h.add(5);  // below one sub-bucket: exact
  EXPECT_EQ(h.quantiles().p50_us, 0.005);
}

}  // namespace
}  // namespace eplb
