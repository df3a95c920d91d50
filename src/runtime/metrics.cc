// Prometheus text exposition of BalancerMetrics.
#include "eplb/runtime/metrics.h"

#include <cstdio>
#include <string>

namespace eplb {
namespace {

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

class Exposition {
 public:
  explicit Exposition(int rank_idx) : label_("{rank=\"" + std::to_string(rank_idx) + "\"}") {}

  void counter(const char* name, const char* help, int64_t value) {
    add(std::string("eplb_") + name + "_total", "counter", help, std::to_string(value));
  }
  void gauge(const char* name, const char* help, double value) {
    add(std::string("eplb_") + name, "gauge", help, number(value));
  }
  std::string text() const { return text_; }

 private:
  void add(const std::string& name, const char* type, const char* help, const std::string& value) {
    text_ += "# HELP " + name + " " + help + "\n";
    text_ += "# TYPE " + name + " " + type + "\n";
    text_ += name + label_ + " " + value + "\n";
  }

  std::string label_;
  std::string text_;
};

}  // namespace

std::string format_prometheus(const BalancerMetrics& m, int rank_idx) {
  Exposition out(rank_idx);
  out.counter("steps", "Forward steps seen by the balancer.", m.steps);
  out.counter("cycles", "Ended rebalancing cycles, failed ones included.", m.cycles);
  out.counter("rebalances", "Cycles that committed at least one layer.", m.rebalances);
  out.counter("moved_experts", "Expert weight copies of committed layers, all ranks.",
              m.moved_experts);
  out.counter("moved_bytes", "Bytes of remote expert weight copies of committed layers.",
              m.bytes_moved);
  out.counter("planner_failures", "Cycles whose planner threw; the placement was kept.",
              m.planner_failures);
  out.counter("late_plans", "Cycles whose plan was not ready at the earliest take step.",
              m.late_plans);
  out.counter("transfer_failures", "Layers whose weight transfers failed or timed out.",
              m.transfer_failures);
  out.counter("record_failures", "Failed writes of expert_map_record_path.", m.record_failures);
  out.counter("planner_timeouts", "Cycles whose plan missed planner_timeout_steps (abandoned).",
              m.planner_timeouts);
  out.counter("dropped_tokens", "Routing entries with no live replica of their expert (slot -1).",
              m.dropped_tokens);
  out.counter("reloaded_experts", "Expert weights reloaded through the load_expert callback.",
              m.reloaded_experts);
  out.gauge("masked_ranks", "Ranks masked out of service now.", m.masked_ranks);
  out.gauge("lost_experts", "Layer experts with no replica on a live rank now.", m.lost_experts);
  out.gauge("hook_us_p50", "Median balancer hook time per step, microseconds.", m.hook_us_p50);
  out.gauge("hook_us_p99", "99th percentile balancer hook time per step, microseconds.",
            m.hook_us_p99);
  out.gauge("hook_us_max", "Maximum balancer hook time per step, microseconds.", m.hook_us_max);
  const CycleMetrics& c = m.last_cycle;
  out.gauge("last_cycle_imbalance_before_mean",
            "Mean over layers of max/mean rank load before the last cycle.",
            c.imbalance_before_mean);
  out.gauge("last_cycle_imbalance_before_max",
            "Worst layer's max/mean rank load before the last cycle.", c.imbalance_before_max);
  out.gauge("last_cycle_imbalance_after_mean",
            "Mean over layers of max/mean rank load after the last cycle.", c.imbalance_after_mean);
  out.gauge("last_cycle_imbalance_after_max",
            "Worst layer's max/mean rank load after the last cycle.", c.imbalance_after_max);
  out.gauge("last_cycle_moved_experts", "Expert weight copies committed by the last cycle.",
            static_cast<double>(c.moved_experts));
  out.gauge("last_cycle_plan_ms", "Planner time of the last cycle, milliseconds.", c.plan_ms);
  out.gauge("last_cycle_transfer_ms", "Transfer time of the last cycle, milliseconds.",
            c.transfer_ms);
  return out.text();
}

}  // namespace eplb
