#include "eplb/sim/simulator.h"

#include <algorithm>

#include "eplb/balance.h"
#include "eplb/error.h"
#include "sim/sim_internal.h"

namespace eplb::sim {

SimPolicy parse_sim_policy(const std::string& name) {
  if (name == "none") return SimPolicy::kNone;
  if (name == "static") return SimPolicy::kStatic;
  if (name == "online") return SimPolicy::kOnline;
  if (name == "oracle") return SimPolicy::kOracle;
  throw Error("--policy " + name + ": expected none, static, online or oracle");
}

const char* sim_policy_name(SimPolicy policy) {
  switch (policy) {
    case SimPolicy::kNone: return "none";
    case SimPolicy::kStatic: return "static";
    case SimPolicy::kOnline: return "online";
    case SimPolicy::kOracle: return "oracle";
  }
  return "?";
}

namespace internal {

StepScore score_step(const LoadTrace& trace, int step_idx, const Placement& placement,
                     const CostModel& cost) {
  StepScore s;
  int with_data = 0;
  for (int l = 0; l < trace.num_layers; ++l) {
    const std::vector<double> ranks =
        rank_loads(trace.at(step_idx, l), placement.layer_phy2log(l),
                   placement.layer_routing_weight(l), placement.num_ranks);
    s.compute_us += layer_time_us(cost, ranks);
    const LayerBalance b = layer_balance(ranks);
    if (!b.has_data) continue;
    s.peak_to_avg += b.peak_to_avg;
    ++with_data;
  }
  s.has_data = with_data > 0;
  if (s.has_data) s.peak_to_avg /= with_data;
  return s;
}

int64_t count_moves(const Placement& from, const Placement& to, int layer_idx,
                    std::vector<int64_t>& per_rank) {
  const auto a = from.layer_phy2log(layer_idx);
  const auto b = to.layer_phy2log(layer_idx);
  int64_t total = 0;
  for (size_t s = 0; s < a.size(); ++s) {
    if (a[s] == b[s]) continue;
    ++per_rank[static_cast<size_t>(to.rank_of_slot(static_cast<int>(s)))];
    ++total;
  }
  return total;
}

void summarize(const std::vector<StepScore>& scores, const std::vector<int64_t>& max_rank_moved,
               const CostModel& cost, SimResult& r) {
  r.step_peak_to_avg.assign(scores.size(), 0.0);
  int64_t with_data = 0;
  double compute = 0, stall = 0;
  for (size_t t = 0; t < scores.size(); ++t) {
    const StepCost c = step_cost(cost, scores[t].compute_us, max_rank_moved[t]);
    compute += c.compute_us;
    stall += c.stall_us;
    r.stall_us_max = std::max(r.stall_us_max, c.stall_us);
    if (!scores[t].has_data) continue;
    r.step_peak_to_avg[t] = scores[t].peak_to_avg;
    r.mean_peak_to_avg += scores[t].peak_to_avg;
    r.worst_peak_to_avg = std::max(r.worst_peak_to_avg, scores[t].peak_to_avg);
    ++with_data;
  }
  if (with_data > 0) r.mean_peak_to_avg /= static_cast<double>(with_data);
  const auto n = static_cast<double>(std::max<size_t>(scores.size(), 1));
  r.compute_us_mean = compute / n;
  r.stall_us_mean = stall / n;
  r.step_us_mean = r.compute_us_mean + r.stall_us_mean;
  r.moved_bytes = static_cast<double>(r.moved_experts) * cost.expert_bytes;
  if (r.replans > 0) {
    r.moved_experts_per_replan =
        static_cast<double>(r.moved_experts) / static_cast<double>(r.replans);
    r.moved_bytes_per_replan = r.moved_bytes / static_cast<double>(r.replans);
  }
}

}  // namespace internal

namespace {

// none, static and oracle: a placement per block of steps, computed directly.
SimResult simulate_offline(const LoadTrace& trace, SimPolicy policy, const SimOptions& options,
                           const PlanOptions& plan_options) {
  using namespace internal;
  SimResult r;
  r.policy = policy;
  const int window = std::clamp(options.window_steps, 1, trace.num_steps);
  const Placement initial = Placement::contiguous(trace.num_layers, trace.num_experts,
                                                  options.num_ranks, options.num_slots);
  Placement current = initial;
  std::vector<StepScore> scores(static_cast<size_t>(trace.num_steps));
  // Offline moves happen outside serving (start-up, or free for the oracle): never a stall.
  const std::vector<int64_t> no_moves(static_cast<size_t>(trace.num_steps), 0);
  std::vector<int64_t> per_rank(static_cast<size_t>(options.num_ranks), 0);
  auto deploy = [&](Placement next, int step) {
    int64_t moved = 0;
    for (int l = 0; l < trace.num_layers; ++l) moved += count_moves(current, next, l, per_rank);
    r.moved_experts += moved;
    r.replan_moves.push_back({step, moved});
    ++r.replans;
    current = std::move(next);
  };
  if (policy == SimPolicy::kStatic) {
    deploy(plan(trace.window_sum(0, window), plan_options, &current), 0);
  }
  for (int t = 0; t < trace.num_steps; ++t) {
    if (policy == SimPolicy::kOracle && t % window == 0) {
      deploy(
          plan(trace.window_sum(t, std::min(t + window, trace.num_steps)), plan_options, &current),
          t);
    }
    scores[static_cast<size_t>(t)] = score_step(trace, t, current, options.cost);
    if (options.progress) options.progress(t + 1);
  }
  summarize(scores, no_moves, options.cost, r);
  r.final_placement = std::move(current);
  return r;
}

}  // namespace

SimResult simulate(const LoadTrace& trace, SimPolicy policy, const SimOptions& options,
                   const OnlineKnobs& knobs) {
  validate_cost_model(options.cost);
  if (options.window_steps < 1) {
    throw Error("--window " + std::to_string(options.window_steps) + " must be >= 1");
  }
  PlanOptions plan_options;
  plan_options.num_ranks = options.num_ranks;
  plan_options.num_slots = options.num_slots;
  plan_options.num_nodes = options.num_nodes;
  plan_options.num_groups = options.num_groups;
  plan_options.policy = options.planner;
  plan_options.routing = options.routing;
  check_plan_options(plan_options, trace.num_experts);
  if (policy == SimPolicy::kOnline) {
    SimResult r = internal::simulate_online(trace, options, knobs);
    r.knobs = knobs;
    return r;
  }
  return simulate_offline(trace, policy, options, plan_options);
}

}  // namespace eplb::sim
