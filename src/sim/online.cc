// The online policy: the real runtime (eplb::Balancer) on in-process ranks.
#include <algorithm>
#include <barrier>
#include <cmath>
#include <exception>
#include <mutex>
#include <thread>

#include "eplb/error.h"
#include "eplb/runtime/balancer.h"
#include "eplb/runtime/in_process_comm.h"
#include "sim/sim_internal.h"

namespace eplb::sim::internal {
namespace {

constexpr size_t kSimBytesPerExpert = 8;  // weights really move; their size is the cost model's

}  // namespace

SimResult simulate_online(const LoadTrace& trace, const SimOptions& options,
                          const OnlineKnobs& knobs) {
  BalancerConfig config;
  config.num_layers = trace.num_layers;
  config.num_experts = trace.num_experts;
  config.num_ranks = options.num_ranks;
  config.num_redundant_experts = options.num_slots - trace.num_experts;
  config.num_nodes = options.num_nodes;
  config.num_groups = options.num_groups;
  config.policy = options.planner;
  if (options.routing == Routing::kWeighted) {
    config.routing = Routing::kWeighted;
    config.route_policy = RoutePolicy::kWeighted;
  }
  config.expert_heat_collection_interval = knobs.expert_heat_collection_interval;
  config.algorithm_execution_interval = knobs.algorithm_execution_interval;
  config.layer_updates_per_iter = knobs.layer_updates_per_iter;
  validate_balancer_config(config);  // names the knob, before any thread starts

  const int num_ranks = options.num_ranks;
  const int num_steps = trace.num_steps;
  // Integer counts of the trace (the recorder takes int64 counts).
  std::vector<int64_t> counts(trace.values.size());
  for (size_t i = 0; i < counts.size(); ++i) counts[i] = std::llround(trace.values[i]);

  SimResult r;
  r.policy = SimPolicy::kOnline;
  std::vector<StepScore> scores(static_cast<size_t>(num_steps));
  std::vector<int64_t> max_rank_moved(static_cast<size_t>(num_steps), 0);
  InProcessWorld world(num_ranks);
  std::barrier sync(num_ranks);
  std::mutex error_mutex;
  std::exception_ptr first_error;
  std::vector<std::thread> threads;
  for (int rank = 0; rank < num_ranks; ++rank) {
    threads.emplace_back([&, rank] {
      bool failed = false;
      try {
        std::unique_ptr<Communicator> comm = world.communicator(rank);
        HostWeightStore store(config.num_layers, config.resolved_slots_per_rank(),
                              kSimBytesPerExpert, std::max(2, config.layer_updates_per_iter));
        Balancer balancer(config, *comm, &store);
        Placement previous = balancer.placement();
        std::vector<int64_t> share(static_cast<size_t>(trace.num_experts));
        std::vector<int64_t> per_rank(static_cast<size_t>(num_ranks));
        int64_t last_cycle = -1;  // cycle_idx() of the last commit seen
        for (int t = 0; t < num_steps; ++t) {
          balancer.before_forward(t);
          if (rank == 0) {
            const Placement& now = balancer.placement();
            std::fill(per_rank.begin(), per_rank.end(), 0);
            int64_t moved = 0;
            for (int l = 0; l < trace.num_layers; ++l)
              moved += count_moves(previous, now, l, per_rank);
            if (moved > 0) {
              r.moved_experts += moved;
              // Posted at bf(t - 1), transferred during forward(t - 1), committed at bf(t).
              max_rank_moved[static_cast<size_t>(std::max(0, t - 1))] +=
                  *std::max_element(per_rank.begin(), per_rank.end());
              // A cycle commits its layers over several steps: one Replan per cycle.
              if (balancer.cycle_idx() != last_cycle) {
                r.replan_moves.push_back({t, 0});
                last_cycle = balancer.cycle_idx();
              }
              r.replan_moves.back().moved_experts += moved;
              previous = now;
            }
            scores[static_cast<size_t>(t)] = score_step(trace, t, now, options.cost);
          }
          for (int l = 0; l < trace.num_layers; ++l) {
            const int64_t* row =
                counts.data() + (static_cast<size_t>(t) * trace.num_layers + l) * trace.num_experts;
            for (int e = 0; e < trace.num_experts; ++e) {
              share[static_cast<size_t>(e)] =
                  row[e] / num_ranks + (rank < row[e] % num_ranks ? 1 : 0);
            }
            balancer.recorder().record_counts(l, share);
          }
          sync.arrive_and_wait();  // every rank posted this step's transfers
          balancer.wait_planner_idle();
          balancer.after_forward(t);
          if (rank == 0 && options.progress) options.progress(t + 1);
          sync.arrive_and_wait();
        }
        if (rank == 0) {
          r.replans = balancer.metrics().rebalances;
          r.final_placement = balancer.placement();
        }
      } catch (...) {
        std::lock_guard lock(error_mutex);
        if (!first_error) first_error = std::current_exception();
        failed = true;
      }
      if (failed) sync.arrive_and_drop();
    });
  }
  for (std::thread& t : threads) t.join();
  if (first_error) {
    try {
      std::rethrow_exception(first_error);
    } catch (const std::exception& e) {
      throw Error(std::string("online simulation: ") + e.what());
    }
  }
  summarize(scores, max_rank_moved, options.cost, r);
  return r;
}

}  // namespace eplb::sim::internal
