// Placement planning: replica counts and slot assignment from per-expert loads.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

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

struct PlanOptions {
  int num_ranks = 0;   // ranks (GPUs) of the expert-parallel group
  int num_slots = 0;   // physical slots per layer over all ranks; >= num_experts
  int num_nodes = 1;   // nodes; ranks are split contiguously over nodes
  int num_groups = 1;  // expert groups (DeepSeek's group-limited routing); experts contiguous
  Policy policy = Policy::kBalanced;
};

// Throws eplb::Error naming the flag (e.g. "--slots 290 is not divisible by --ranks 32")
// when the options cannot describe a deployment of `num_experts` experts.
void check_plan_options(const PlanOptions& options, int num_experts);

// Plans every layer. Layers without data get the contiguous default placement (or keep the
// current one). `current`, when given, is the deployed placement (same shape), from which
// incremental policies start. The result carries loads.layer_ids.
// Thread-safe: no shared state.
Placement plan(const LoadMatrix& loads, const PlanOptions& options,
               const Placement* current = nullptr);

// Plans one layer: `expert_loads` [num_experts] -> `phy2log` [num_slots].
// `current_phy2log` is empty or [num_slots]. The building block of plan() and of the runtime.
void plan_layer(std::span<const double> expert_loads, const PlanOptions& options,
                std::span<const int32_t> current_phy2log, std::span<int32_t> phy2log);

}  // namespace eplb
