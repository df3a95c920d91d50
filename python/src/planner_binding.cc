// eplb.plan: a placement for every layer from per-expert loads.
#include <nanobind/stl/string.h>

#include "bindings.h"
#include "eplb/planner.h"

namespace eplb::python {

void bind_planner(nb::module_& m) {
  m.def(
      "plan",
      [](nb::handle loads, int num_ranks, int num_slots, int num_nodes, int num_groups,
         const std::string& policy, const Placement* current, nb::handle layer_ids,
         const std::string& routing, const std::string& topology, int max_moves,
         double tolerance, double slack) {
        const LoadMatrix matrix = load_matrix_arg(loads, layer_ids);
        PlanOptions options;
        options.num_ranks = num_ranks;
        options.num_slots = num_slots;
        options.num_nodes = num_nodes;
        options.num_groups = num_groups;
        options.policy = parse_policy(policy);
        options.routing = parse_routing(routing);
        options.topology = parse_topology(topology);
        options.max_moves = max_moves;
        options.move_tolerance = tolerance;
        options.balance_slack = slack;
        check_plan_options(options, matrix.num_experts);
        // As the CLI's --current: matched to the loads' layers by id (or by row when the ids
        // differ but the counts agree), then checked by plan().
        std::optional<Placement> aligned;
        if (current != nullptr && current->layer_ids != matrix.layer_ids &&
            current->num_experts == matrix.num_experts) {
          aligned = align_layers(*current, matrix.layer_ids, "--current");
          current = &*aligned;
        }
        nb::gil_scoped_release release;
        return plan(matrix, options, current);
      },
      nb::arg("loads"), nb::kw_only(), nb::arg("num_ranks"), nb::arg("num_slots"),
      nb::arg("num_nodes") = 1, nb::arg("num_groups") = 1, nb::arg("policy") = "balanced",
      nb::arg("current") = nb::none(), nb::arg("layer_ids") = nb::none(),
      nb::arg("routing") = "even", nb::arg("topology") = "relaxed", nb::arg("max_moves") = -1,
      nb::arg("tolerance") = 0.0, nb::arg("slack") = PlanOptions{}.balance_slack,
      "Plans a placement for every layer. loads: eplb.LoadMatrix or [num_layers, num_experts] "
      "array (layer_ids: its layer ids, default 0..num_layers-1). Returns a Placement with "
      "phy2log [num_layers, num_slots]. policy: balanced | deepseek | greedy. current: the "
      "deployed Placement incremental policies start from. routing: even | weighted (weighted "
      "also sets routing_weight). topology: relaxed | strict (with num_nodes/num_groups). "
      "max_moves (per layer, -1: no limit) and tolerance (max/mean given up for fewer moves) "
      "apply with current. slack: refinement stops within this factor of the lower bound. "
      "The same options as `eplb plan`.");
}

}  // namespace eplb::python
