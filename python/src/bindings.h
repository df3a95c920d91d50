// The parts of the _eplb extension module, one per concern of the C++ API; module.cc calls them
// in this order (later parts use the classes bound by earlier ones).
#pragma once

#include <nanobind/nanobind.h>

#include <string>
#include <vector>

#include "eplb/load_matrix.h"
#include "eplb/runtime/recorder.h"
#include "eplb/token_router.h"

namespace eplb::python {

namespace nb = nanobind;

void bind_load_matrix(nb::module_& m);   // LoadMatrix, read_loads
void bind_placement(nb::module_& m);     // Placement, read/write/format/check placement files
void bind_planner(nb::module_& m);       // plan
void bind_balance(nb::module_& m);       // report, rank_loads, contiguous_rank_loads
void bind_routing(nb::module_& m);       // count_expert_load(_decayed), ReplicaTable, route_tokens
void bind_recorder(nb::module_& m);      // LoadRecorder (the runtime's load recorder)
void bind_comm(nb::module_& m);          // Communicator (Python-subclassable), InProcessWorld
void bind_weight_store(nb::module_& m);  // ExpertWeightStore, HostWeightStore
void bind_balancer_config(nb::module_& m);  // RecorderOptions, BalancerConfig
void bind_balancer(nb::module_& m);         // BalancerEvent, Balancer (the online runtime)

// `loads` as a LoadMatrix: an eplb.LoadMatrix as is, or any [num_layers, num_experts] array of
// real numbers (copied into one) with `layer_ids` (None: 0..num_layers-1). Throws ValueError.
LoadMatrix load_matrix_arg(nb::handle loads, nb::handle layer_ids);

// [num_layers] layer ids: 0..num_layers-1 for None, else any 1-D integer array-like of that
// length. Throws ValueError.
std::vector<int> layer_ids_arg(nb::handle layer_ids, int num_layers);

// "windowed" | "decayed" and back; throws eplb::Error naming the value.
RecorderMode recorder_mode_arg(const std::string& name);
const char* recorder_mode_name(RecorderMode mode);

// "round_robin" | "local_first" | "weighted"; throws eplb::Error naming the value.
RoutePolicy route_policy_arg(const std::string& name);

// A path argument (str or os.PathLike) as a string.
std::string path_arg(nb::handle path, const char* name);

}  // namespace eplb::python
