// Policy `balanced` against `deepseek` layer by layer on random deployments: how often, and by
// how much (relative max/mean), a balanced layer comes out hotter (its guarantee: within
// balance_slack of the lower bound, so at most the slack above DeepSeek's hottest rank), and
// the mean over deployments.
//
// A deployment: 4-64 ranks, 3-12 slots per rank (or --slots-per-rank K), experts = slots minus
// up to a quarter, 20 layers of Zipf loads (exponent 0.3-1.6, each expert's load times
// 0.8-1.2, shuffled). With --hierarchical, each deployment also gets 2, 4 or 8 nodes (at most
// the ranks) and 1-4 groups per node (fewer where the experts are fewer; experts rounded down
// to a multiple of the groups), the
// default relaxed topology; the report adds the lower bound, a global `balanced` plan of the
// same loads, the cross-node share and the relaxed layers.
//
// Run: eplb_policy_compare [--deployments N] [--seed S] [--slots-per-rank K] [--hierarchical]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "eplb/planner.h"

namespace {

struct Deployment {
  eplb::PlanOptions options;
  eplb::LoadMatrix loads;
  double zipf = 0;
};

// `fixed_slots_per_rank` > 0 replaces the drawn slots per rank (the draw is still made, so
// that the other draws stay the same).
Deployment random_deployment(std::mt19937_64& rng, int fixed_slots_per_rank, bool hierarchical) {
  Deployment d;
  const int rank_choices[] = {4, 8, 16, 32, 64};
  d.options.num_ranks = rank_choices[rng() % 5];
  int slots_per_rank = 3 + static_cast<int>(rng() % 10);
  if (fixed_slots_per_rank > 0) slots_per_rank = fixed_slots_per_rank;
  d.options.num_slots = d.options.num_ranks * slots_per_rank;
  int num_experts = d.options.num_slots -
                    static_cast<int>(rng() % static_cast<uint64_t>(d.options.num_slots / 4 + 1));
  d.zipf = 0.3 + static_cast<double>(rng() % 1300) / 1000.0;
  if (hierarchical) {
    const int node_choices[] = {2, 4, 8};
    d.options.num_nodes = std::min(node_choices[rng() % 3], d.options.num_ranks);
    int groups_per_node = 1 + static_cast<int>(rng() % 4);
    // Experts >= 3/4 of the slots > ranks >= nodes: one group per node always fits.
    while (d.options.num_nodes * groups_per_node > num_experts) --groups_per_node;
    d.options.num_groups = d.options.num_nodes * groups_per_node;
    num_experts -= num_experts % d.options.num_groups;
  }
  const int num_layers = 20;
  d.loads = eplb::LoadMatrix::zeros(num_layers, num_experts);
  std::vector<int> order(static_cast<size_t>(num_experts));
  for (int l = 0; l < num_layers; ++l) {
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    auto row = d.loads.layer(l);
    for (int k = 0; k < num_experts; ++k) {
      const double noise = 0.8 + 0.4 * static_cast<double>(rng() % 1000) / 1000.0;
      row[static_cast<size_t>(order[static_cast<size_t>(k)])] =
          std::round(1e6 / std::pow(k + 1.0, d.zipf) * noise);
    }
  }
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  int num_deployments = 300;
  uint64_t seed = 1;
  int slots_per_rank = 0;
  bool hierarchical = false;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    const bool has_value = i + 1 < argc;
    if (flag == "--deployments" && has_value) {
      num_deployments = std::atoi(argv[++i]);
    } else if (flag == "--seed" && has_value) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (flag == "--slots-per-rank" && has_value) {
      slots_per_rank = std::atoi(argv[++i]);
    } else if (flag == "--hierarchical") {
      hierarchical = true;
    } else {
      std::fprintf(stderr,
                   "usage: eplb_policy_compare [--deployments N] [--seed S] [--slots-per-rank K] "
                   "[--hierarchical]\n");
      return 2;
    }
  }
  if (num_deployments <= 0) {
    std::fprintf(stderr, "--deployments %d must be > 0\n", num_deployments);
    return 2;
  }
  if (slots_per_rank < 0 || slots_per_rank == 1) {
    std::fprintf(stderr, "--slots-per-rank %d must be 2 or more\n", slots_per_rank);
    return 2;
  }
  std::mt19937_64 rng(seed);
  int layers = 0;
  int hotter = 0;
  int cooler = 0;
  int hotter_on_mean = 0;
  double worst_gap = 0;
  double worst_mean_gap = 0;
  double ours_sum = 0;
  double theirs_sum = 0;
  double bound_sum = 0;       // per layer, hierarchical only
  double global_sum = 0;      // per layer
  double cross_node_sum = 0;  // per layer
  int relaxed_layers = 0;
  for (int n = 0; n < num_deployments; ++n) {
    Deployment d = random_deployment(rng, slots_per_rank, hierarchical);
    eplb::PlanReport ours;
    eplb::PlanReport theirs;
    d.options.policy = eplb::Policy::kBalanced;
    eplb::plan(d.loads, d.options, nullptr, &ours);
    d.options.policy = eplb::Policy::kDeepSeek;
    eplb::plan(d.loads, d.options, nullptr, &theirs);
    if (hierarchical) {
      eplb::PlanOptions global = d.options;
      global.policy = eplb::Policy::kBalanced;
      global.num_nodes = 1;
      global.num_groups = 1;
      eplb::PlanReport flat;
      eplb::plan(d.loads, global, nullptr, &flat);
      for (size_t l = 0; l < ours.layers.size(); ++l) {
        bound_sum += ours.layers[l].lower_bound;
        global_sum += flat.layers[l].max_over_mean;
        cross_node_sum += ours.layers[l].cross_node_share;
        relaxed_layers += ours.layers[l].relaxed;
      }
    }
    double ours_mean = 0;
    double theirs_mean = 0;
    for (size_t l = 0; l < ours.layers.size(); ++l) {
      const double a = ours.layers[l].max_over_mean;
      const double b = theirs.layers[l].max_over_mean;
      ++layers;
      hotter += a > b * (1 + 1e-9);
      cooler += a < b * (1 - 1e-9);
      worst_gap = std::max(worst_gap, a / b - 1);
      ours_mean += a / static_cast<double>(ours.layers.size());
      theirs_mean += b / static_cast<double>(ours.layers.size());
    }
    if (ours_mean > theirs_mean * (1 + 1e-12)) {
      ++hotter_on_mean;
      worst_mean_gap = std::max(worst_mean_gap, ours_mean / theirs_mean - 1);
    }
    ours_sum += ours_mean;
    theirs_sum += theirs_mean;
  }
  std::printf("deployments %d (seed %llu), layers %d\n", num_deployments,
              static_cast<unsigned long long>(seed), layers);
  std::printf("layers where balanced is hotter than deepseek: %d (%.2f%%), worst by %.3f%%\n",
              hotter, 100.0 * hotter / layers, 100 * worst_gap);
  std::printf("layers where balanced is cooler: %d (%.2f%%)\n", cooler, 100.0 * cooler / layers);
  std::printf("deployments hotter on the mean over layers: %d, worst by %.4f%%\n", hotter_on_mean,
              100 * worst_mean_gap);
  std::printf("mean max/mean over deployments: balanced %.5f, deepseek %.5f\n",
              ours_sum / num_deployments, theirs_sum / num_deployments);
  if (hierarchical) {
    std::printf(
        "per layer (hierarchical): lower bound %.4f, global balanced %.4f, balanced %.4f, "
        "deepseek %.4f; cross-node share %.2f%%, relaxed layers %d\n",
        bound_sum / layers, global_sum / layers, ours_sum / num_deployments,
        theirs_sum / num_deployments, 100 * cross_node_sum / layers, relaxed_layers);
  }
  return 0;
}
