// The parts of the _eplb extension module, one per concern of the C++ API; module.cc calls them
// in this order (later parts use the classes bound by earlier ones).
#pragma once

#include <nanobind/nanobind.h>

#include <string>
#include <vector>

#include "eplb/load_matrix.h"

namespace eplb::python {

namespace nb = nanobind;

void bind_load_matrix(nb::module_& m);  // LoadMatrix, read_loads
void bind_placement(nb::module_& m);    // Placement, read/write/format/check placement files
void bind_planner(nb::module_& m);      // plan
void bind_balance(nb::module_& m);      // report, rank_loads, contiguous_rank_loads
void bind_routing(nb::module_& m);      // count_expert_load(_decayed), ReplicaTable, route_tokens
void bind_recorder(nb::module_& m);     // LoadRecorder (the runtime's load recorder)

// `loads` as a LoadMatrix: an eplb.LoadMatrix as is, or any [num_layers, num_experts] array of
// real numbers (copied into one) with `layer_ids` (None: 0..num_layers-1). Throws ValueError.
LoadMatrix load_matrix_arg(nb::handle loads, nb::handle layer_ids);

// [num_layers] layer ids: 0..num_layers-1 for None, else any 1-D integer array-like of that
// length. Throws ValueError.
std::vector<int> layer_ids_arg(nb::handle layer_ids, int num_layers);

// A path argument (str or os.PathLike) as a string.
std::string path_arg(nb::handle path, const char* name);

}  // namespace eplb::python
