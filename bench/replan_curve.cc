// Re-planning on load traces: how many slots a re-plan moves against the balance it keeps, per
// knob of policy `balanced` with a current placement (--max-moves, --tolerance), and how plans
// built from one window fare on the next.
//
// Traces ([steps, layers, experts] npy) are cut into windows of --window steps. Window t+1 is
// planned from the placement of window t (window 0: a fresh plan), and compared with a fresh
// plan of window t+1:
//   moved%      moved slots / (layers x slots), mean over re-plans
//   balance     max/mean rank load of the re-plan on its own window, mean over layers and
//               re-plans ("fresh": the fresh plan's)
//   next        the same placement scored on the following window (what serving sees)
//   plan_ms     mean time of one re-plan of all layers
// The "weighted" row plans with --routing weighted (from the weighted fresh plan of window 0,
// compared with weighted fresh plans); its balance honours the planned shares.
// Robustness rows plan every window fresh from a decayed sum of past windows (weight `decay`
// per window back), or from the mean (or the last window) of the last 4 windows plus k
// standard deviations per expert (slack for volatile experts), and score it in-sample and on
// the next window.
//
// The DeepSeek-V3 trace is also re-planned with 4 nodes x 8 groups (relaxed topology), with the
// cross-node share (tokens served off their group's main node, mean over layers and re-plans).
//
// Run: eplb_replan_curve [--window STEPS] [--workloads DIR]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "eplb/balance.h"
#include "eplb/error.h"
#include "eplb/load_reader.h"
#include "eplb/planner.h"
#include "planner/topology.h"

namespace {

struct Trace {
  const char* name;
  const char* file;  // under <workloads>/synthetic
  int num_steps;
  int num_ranks;
  int num_slots;
  int num_nodes = 1;  // > 1: hierarchical, with a cross-node column and no robustness rows
  int num_groups = 1;
};

double mean_balance(const eplb::LoadMatrix& loads, const eplb::Placement& placement) {
  return eplb::balance_report(loads, &placement, placement.num_ranks).average.peak_to_avg;
}

struct Row {
  double moved = 0;    // fraction of slots
  double balance = 0;  // in-sample max/mean
  double fresh = 0;    // fresh plan's in-sample max/mean
  double next = 0;     // next-window max/mean
  double plan_ms = 0;
  double cross_node = 0;  // share of tokens served off their group's main node (hierarchical)
  int plans = 0;
  int next_plans = 0;
};

// Mean over layers of the share of tokens `p` serves off their group's main node (its routing
// shares honoured, if any).
double mean_cross_node_share(const eplb::LoadMatrix& loads, const eplb::Placement& p, int num_nodes,
                             int num_groups) {
  double sum = 0;
  for (int l = 0; l < loads.num_layers; ++l) {
    const std::span<const double> shares =
        p.routing_weight.empty() ? std::span<const double>() : p.layer_routing_weight(l);
    sum += eplb::planner::cross_node_share(loads.layer(l), p.layer_phy2log(l), shares, num_nodes,
                                           num_groups);
  }
  return sum / loads.num_layers;
}

// eplb::plan, its wall time in `ms`.
eplb::Placement timed_plan(const eplb::LoadMatrix& loads, const eplb::PlanOptions& options,
                           const eplb::Placement* current, double& ms) {
  const auto start = std::chrono::steady_clock::now();
  eplb::Placement p = eplb::plan(loads, options, current);
  ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return p;
}

void print_row(const std::string& knob, const Row& r, bool hierarchical) {
  std::printf("| %-28s | %6.2f | %8.5f | %8.5f | %+8.5f | %8.5f | %7.3f |", knob.c_str(),
              100 * r.moved / r.plans, r.balance / r.plans, r.fresh / r.plans,
              (r.balance - r.fresh) / r.plans, r.next_plans > 0 ? r.next / r.next_plans : 0.0,
              r.plan_ms / r.plans);
  if (hierarchical) std::printf(" %6.2f |", 100 * r.cross_node / r.plans);
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  int window = 10;
  std::string dir = std::getenv("EPLB_WORKLOADS_DIR") != nullptr ? std::getenv("EPLB_WORKLOADS_DIR")
                                                                 : EPLB_WORKLOADS_DIR;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--window") {
      window = std::atoi(argv[i + 1]);
    } else if (flag == "--workloads") {
      dir = argv[i + 1];
    } else {
      std::fprintf(stderr, "usage: eplb_replan_curve [--window STEPS] [--workloads DIR]\n");
      return 2;
    }
  }
  if (window <= 0) {
    std::fprintf(stderr, "--window %d must be > 0\n", window);
    return 2;
  }
  const Trace traces[] = {
      {"deepseek-v3-trace-s105 288/32", "deepseek-v3-trace-s105.npy", 200, 32, 288},
      {"qwen3-30b-trace-s106 144/8", "qwen3-30b-trace-s106.npy", 300, 8, 144},
      {"deepseek-v3-trace-s105 288/32, 4 nodes x 8 groups", "deepseek-v3-trace-s105.npy", 200, 32,
       288, 4, 8},
  };
  struct Knob {
    const char* name;
    int max_moves;
    double tolerance;
    eplb::Routing routing = eplb::Routing::kEven;  // weighted: shares honoured, against weighted
                                                   // fresh plans
  };
  const Knob knobs[] = {
      {"tolerance 0", -1, 0.0},
      {"tolerance 0.002", -1, 0.002},
      {"tolerance 0.005", -1, 0.005},
      {"tolerance 0.01", -1, 0.01},
      {"tolerance 0.02", -1, 0.02},
      {"max-moves 4", 4, 0.0},
      {"max-moves 8", 8, 0.0},
      {"max-moves 16", 16, 0.0},
      {"max-moves 28", 28, 0.0},
      {"max-moves 8, tol 0.01", 8, 0.01},
      {"weighted, tolerance 0", -1, 0.0, eplb::Routing::kWeighted},
  };
  try {
    for (const Trace& trace : traces) {
      const std::string path = dir + "/synthetic/" + trace.file;
      std::vector<eplb::LoadMatrix> windows;
      for (int step = 0; step + window <= trace.num_steps; step += window) {
        eplb::LoadReadOptions read;
        read.window = eplb::IndexRange{step, step + window};
        windows.push_back(eplb::read_loads(path, read));
      }
      eplb::PlanOptions options;
      options.num_ranks = trace.num_ranks;
      options.num_slots = trace.num_slots;
      options.num_nodes = trace.num_nodes;
      options.num_groups = trace.num_groups;
      const bool hierarchical = trace.num_nodes > 1;
      const auto num_cells = static_cast<double>(windows[0].num_layers) * trace.num_slots;
      std::printf("\n%s, windows of %d steps (%zu windows, %d layers)\n\n", trace.name, window,
                  windows.size(), windows[0].num_layers);
      std::printf("| %-28s | %6s | %8s | %8s | %8s | %8s | %7s |%s\n", "knob", "moved%", "balance",
                  "fresh", "delta", "next", "plan_ms", hierarchical ? " cross% |" : "");
      std::printf("|---|---|---|---|---|---|---|%s\n", hierarchical ? "---|" : "");
      // Fresh plans of every window, for reference (even and weighted routing).
      std::vector<eplb::Placement> fresh;
      std::vector<eplb::Placement> fresh_weighted;
      eplb::PlanOptions weighted = options;
      weighted.routing = eplb::Routing::kWeighted;
      for (const auto& w : windows) {
        fresh.push_back(eplb::plan(w, options));
        fresh_weighted.push_back(eplb::plan(w, weighted));
      }
      auto fresh_for = [&](eplb::Routing routing) -> const std::vector<eplb::Placement>& {
        return routing == eplb::Routing::kWeighted ? fresh_weighted : fresh;
      };
      // Adds the plan of window t (made in `ms`, `before` deployed until then) to `r`.
      auto score = [&](Row& r, size_t t, const eplb::Placement& p, const eplb::Placement& before,
                       double ms) {
        r.plan_ms += ms;
        r.moved += static_cast<double>(eplb::count_moved_slots(before, p)) / num_cells;
        r.balance += mean_balance(windows[t], p);
        r.fresh += mean_balance(windows[t],
                                fresh_for(p.routing_weight.empty() ? eplb::Routing::kEven
                                                                   : eplb::Routing::kWeighted)[t]);
        if (hierarchical) {
          r.cross_node += mean_cross_node_share(windows[t], p, trace.num_nodes, trace.num_groups);
        }
        if (t + 1 < windows.size()) {
          r.next += mean_balance(windows[t + 1], p);
          ++r.next_plans;
        }
        ++r.plans;
      };
      {
        Row r;
        for (size_t t = 1; t < windows.size(); ++t) score(r, t, fresh[t], fresh[t - 1], 0);
        print_row("fresh plan each window", r, hierarchical);
      }
      for (const Knob& knob : knobs) {
        eplb::PlanOptions o = options;
        o.max_moves = knob.max_moves;
        o.move_tolerance = knob.tolerance;
        o.routing = knob.routing;
        Row r;
        eplb::Placement current = fresh_for(knob.routing)[0];
        for (size_t t = 1; t < windows.size(); ++t) {
          double ms = 0;
          eplb::Placement next = timed_plan(windows[t], o, &current, ms);
          score(r, t, next, current, ms);
          current = std::move(next);
        }
        print_row(knob.name, r, hierarchical);
      }
      if (hierarchical) continue;  // the robustness rows are the global trace's
      // Robustness: fresh plans from other loads than the window's own; `planning_loads(t)`
      // fills `loads` for window t.
      auto fresh_from = [&](const std::string& name, auto&& planning_loads) {
        Row r;
        eplb::LoadMatrix loads = windows[0];
        for (size_t t = 1; t < windows.size(); ++t) {
          planning_loads(t, loads);
          double ms = 0;
          const eplb::Placement p = timed_plan(loads, options, nullptr, ms);
          score(r, t, p, fresh[t - 1], ms);
        }
        print_row(name, r, hierarchical);
      };
      // A decayed sum of past windows.
      for (double decay : {0.5, 0.8}) {
        fresh_from("fresh from decay " + std::to_string(decay).substr(0, 3),
                   [&](size_t t, eplb::LoadMatrix& smoothed) {
                     for (size_t k = 0; k < smoothed.values.size(); ++k) {
                       smoothed.values[k] = decay * smoothed.values[k] + windows[t].values[k];
                     }
                   });
      }
      // The last window's loads, or the last `history` windows' mean, plus `k` standard
      // deviations over those windows (slack for volatile experts: a hot-and-jumpy expert gets
      // the replicas of its bad windows).
      constexpr size_t kHistory = 4;
      for (const auto& [from_mean, k] : {std::pair{true, 0.0}, std::pair{true, 1.0},
                                         std::pair{false, 0.5}, std::pair{false, 1.0}}) {
        char name[64];
        std::snprintf(name, sizeof name, "%s + %.1f sd of %zu windows", from_mean ? "mean" : "last",
                      k, kHistory);
        fresh_from(name, [&](size_t t, eplb::LoadMatrix& guarded) {
          const size_t first = t + 1 >= kHistory ? t + 1 - kHistory : 0;
          const auto n = static_cast<double>(t + 1 - first);
          for (size_t c = 0; c < guarded.values.size(); ++c) {
            double sum = 0;
            double squares = 0;
            for (size_t u = first; u <= t; ++u) {
              sum += windows[u].values[c];
              squares += windows[u].values[c] * windows[u].values[c];
            }
            const double mean = sum / n;
            const double base = from_mean ? mean : windows[t].values[c];
            guarded.values[c] = base + k * std::sqrt(std::max(0.0, squares / n - mean * mean));
          }
        });
      }
    }
  } catch (const eplb::Error& e) {
    std::fprintf(stderr, "eplb_replan_curve: %s\n", e.what());
    return 1;
  }
  return 0;
}
