// Placement planning: replica counts and slot assignment from per-expert loads.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "eplb/load_matrix.h"
#include "eplb/placement.h"

namespace eplb {

enum class Policy {
  kBalanced,  // default: best balance, no avoidable same-rank duplicate replicas
  kDeepSeek,  // faithful DeepSeek EPLB (hierarchical when groups % nodes == 0, else global)
  kGreedy,    // replicate the largest per-replica load, then longest-first packing
};

// "balanced" | "deepseek" | "greedy"; throws eplb::Error naming the value otherwise.
Policy parse_policy(const std::string& name);
const char* policy_name(Policy policy);

// How an expert's tokens are split over its replicas.
enum class Routing {
  kEven,      // evenly (what every engine does today); no routing_weight is written
  kWeighted,  // by planned shares: Placement::routing_weight, the share of each slot
};

// "even" | "weighted"; throws eplb::Error naming the value otherwise.
Routing parse_routing(const std::string& name);
const char* routing_name(Routing routing);

// How policy `balanced` treats expert groups and nodes (--nodes N --groups G, G % N == 0).
enum class Topology {
  kRelaxed,  // default: each group on one node, unless that costs more than relax_threshold;
             // then replicas of hot experts may go to other nodes (reported)
  kStrict,   // every replica of a group on the group's node, as DeepSeek's hierarchical mode
};

// "relaxed" | "strict"; throws eplb::Error naming the value otherwise.
Topology parse_topology(const std::string& name);
const char* topology_name(Topology topology);

struct PlanOptions {
  int num_ranks = 0;   // ranks (GPUs) of the expert-parallel group
  int num_slots = 0;   // physical slots per layer over all ranks; >= num_experts
  int num_nodes = 1;   // nodes; ranks are split contiguously over nodes
  int num_groups = 1;  // expert groups (DeepSeek's group-limited routing); experts contiguous
  Policy policy = Policy::kBalanced;
  // Every policy: kWeighted also solves each replica's share of its expert's tokens (policy
  // `balanced` places replicas for it: a fresh global plan with two slots per rank is
  // redesigned for the shares where that is cooler; the others keep their placement and get
  // its best shares).
  Routing routing = Routing::kEven;
  // Policy `balanced` with nodes and groups.
  Topology topology = Topology::kRelaxed;
  // kRelaxed crosses nodes in a layer only when the strict placement's max/mean rank load is
  // more than this above the relaxed one's.
  double relax_threshold = 0.01;
  // Policy `balanced`: refinement stops once the hottest rank is within this factor of the
  // lower bound (more: faster, less balanced; docs/planner.md has the curve).
  double balance_slack = 2e-3;
  // Policy `balanced` with a current placement (minimal movement): per layer, at most
  // `max_moves` slots change expert (-1: no limit), and the plan may be up to
  // `move_tolerance` (max/mean rank load) less balanced than a fresh plan if that moves fewer
  // slots. "A fresh plan" is what one aims for (the lower bound within balance_slack), or the
  // hottest rank of an actual fresh plan where that aim is out of reach.
  int max_moves = -1;
  double move_tolerance = 0.0;
  // Ranks taken out of service (failed or drained), each in [0, num_ranks), not all of them
  // (--exclude-ranks): every layer is planned over the other ranks' slots only. Slots of
  // excluded ranks keep their current expert (else the default one) and get routing_weight 0,
  // so routing_weight is always produced when this is not empty; routing (ReplicaTable,
  // Placement::log2phy) never picks them. Experts that get no slot on a live rank (fewer live
  // slots than experts: the least loaded are left out) are listed in
  // LayerReport::uncovered_experts, never dropped silently. With nodes, the node structure is
  // kept when every node keeps the same number of live ranks, else the live ranks are planned
  // as one node.
  std::vector<int> excluded_ranks;
};

// Throws eplb::Error naming the flag (e.g. "--slots 290 is not divisible by --ranks 32")
// when the options cannot describe a deployment of `num_experts` experts.
void check_plan_options(const PlanOptions& options, int num_experts);

// What planning found in one layer (the library never prints; the CLI reports from this).
struct LayerReport {
  bool has_data = false;       // false: all loads zero, the other fields are 0
  double lower_bound = 0;      // max/mean no placement can beat, weighted or not:
                               // max(largest load per replica after water-filling, mean) / mean
  double max_over_mean = 0;    // the plan's hottest rank / mean rank load (shares honoured)
  int64_t moved_slots = 0;     // slots whose expert changed vs the current placement
  int duplicates = 0;          // same-rank duplicate replicas kept (no swap could remove them
                               // without heating the hottest rank)
  bool relaxed = false;        // topology: replicas placed off their group's node
  double strict_max_over_mean = 0;  // topology: the strict placement's max/mean (0: not made)
  double cross_node_share = 0;      // topology: share of the groups' tokens served outside
                                    // the node holding most of each group
  // With PlanOptions::excluded_ranks: logical experts with no slot on a live rank, ascending
  // (their tokens cannot be served).
  std::vector<int32_t> uncovered_experts;
};

// What planning found in every layer, with warnings worth an operator's attention.
struct PlanReport {
  std::vector<LayerReport> layers;    // [num_layers]
  int layers_relaxed = 0;             // layers with replicas off their group's node
  double cross_node_share = 0;        // token-weighted over layers with data (topology only)
  int layers_uncovered = 0;           // layers with uncovered experts (excluded ranks)
  std::vector<std::string> warnings;  // one line each, e.g. why the topology was relaxed
};

// Plans every layer. Layers without data get the contiguous default placement (or keep the
// current one). `current`, when given, is the deployed placement (same shape), from which
// policy `balanced` moves as few slots as it can (see PlanOptions::max_moves). The result
// carries loads.layer_ids, and routing_weight with Routing::kWeighted. `report`, when given,
// receives per-layer diagnostics. Thread-safe: no shared state.
Placement plan(const LoadMatrix& loads, const PlanOptions& options,
               const Placement* current = nullptr);
Placement plan(const LoadMatrix& loads, const PlanOptions& options, const Placement* current,
               PlanReport* report);

// Plans one layer: `expert_loads` [num_experts] -> `phy2log` [num_slots].
// `current_phy2log` is empty or [num_slots]. The building block of plan() and of the runtime.
// Throws eplb::Error with PlanOptions::excluded_ranks (routing needs the weights: use the
// overload below).
void plan_layer(std::span<const double> expert_loads, const PlanOptions& options,
                std::span<const int32_t> current_phy2log, std::span<int32_t> phy2log);
// The same, also writing `routing_weight` [num_slots] (each slot's share of its expert's
// tokens: planned shares with Routing::kWeighted, else 1 / replicas) and, when given, `report`.
void plan_layer(std::span<const double> expert_loads, const PlanOptions& options,
                std::span<const int32_t> current_phy2log, std::span<int32_t> phy2log,
                std::span<double> routing_weight, LayerReport* report);

}  // namespace eplb
