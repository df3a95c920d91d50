// eplb.plan: a placement for every layer from per-expert loads, optionally with the planner's
// per-layer report (PlanReport as a dict).
#include <nanobind/stl/string.h>

#include <optional>
#include <string>
#include <vector>

#include "arrays.h"
#include "bindings.h"
#include "eplb/error.h"
#include "eplb/planner.h"

namespace eplb::python {
namespace {

// [n] rank ids from None (none) or any 1-D integer array-like / iterable of ints.
std::vector<int> excluded_ranks_arg(nb::handle ranks) {
  if (ranks.is_none()) return {};
  return int_list_arg(ranks, "excluded_ranks");
}

nb::dict plan_report_dict(const PlanReport& r, const std::vector<int>& layer_ids) {
  nb::list layers;
  for (size_t l = 0; l < r.layers.size(); ++l) {
    const LayerReport& x = r.layers[l];
    nb::dict d;
    d["layer"] = layer_ids[l];
    d["has_data"] = x.has_data;
    d["lower_bound"] = x.lower_bound;
    d["max_over_mean"] = x.max_over_mean;
    d["moved_slots"] = x.moved_slots;
    d["duplicates"] = x.duplicates;
    d["relaxed"] = x.relaxed;
    d["strict_max_over_mean"] = x.strict_max_over_mean;
    d["cross_node_share"] = x.cross_node_share;
    nb::list uncovered;
    for (int32_t e : x.uncovered_experts) uncovered.append(e);
    d["uncovered_experts"] = uncovered;
    layers.append(d);
  }
  nb::dict out;
  out["layers"] = layers;
  out["layers_relaxed"] = r.layers_relaxed;
  out["cross_node_share"] = r.cross_node_share;
  out["layers_uncovered"] = r.layers_uncovered;
  nb::list warnings;
  for (const std::string& w : r.warnings) warnings.append(w);
  out["warnings"] = warnings;
  return out;
}

}  // namespace

void bind_planner(nb::module_& m) {
  m.def(
      "plan",
      [](nb::handle loads, int num_ranks, int num_slots, int num_nodes, int num_groups,
         const std::string& policy, const Placement* current, nb::handle layer_ids,
         const std::string& routing, const std::string& topology, int max_moves, double tolerance,
         double slack, nb::handle excluded_ranks, bool return_report) -> nb::object {
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
        options.excluded_ranks = excluded_ranks_arg(excluded_ranks);
        check_plan_options(options, matrix.num_experts);
        // As the CLI's --current: matched to the loads' layers by id (or by row when the ids
        // differ but the counts agree), then checked by plan().
        std::optional<Placement> aligned;
        if (current != nullptr && current->layer_ids != matrix.layer_ids &&
            current->num_experts == matrix.num_experts) {
          aligned = align_layers(*current, matrix.layer_ids, "--current");
          current = &*aligned;
        }
        PlanReport report;
        Placement result;
        {
          nb::gil_scoped_release release;
          result = plan(matrix, options, current, return_report ? &report : nullptr);
        }
        if (!return_report) return nb::cast(std::move(result));
        return nb::make_tuple(std::move(result), plan_report_dict(report, matrix.layer_ids));
      },
      nb::arg("loads"), nb::kw_only(), nb::arg("num_ranks"), nb::arg("num_slots"),
      nb::arg("num_nodes") = 1, nb::arg("num_groups") = 1, nb::arg("policy") = "balanced",
      nb::arg("current") = nb::none(), nb::arg("layer_ids") = nb::none(),
      nb::arg("routing") = "even", nb::arg("topology") = "relaxed", nb::arg("max_moves") = -1,
      nb::arg("tolerance") = 0.0, nb::arg("slack") = PlanOptions{}.balance_slack,
      nb::arg("excluded_ranks") = nb::none(), nb::arg("return_report") = false,
      "Plans a placement for every layer. loads: eplb.LoadMatrix or [num_layers, num_experts] "
      "array (layer_ids: its layer ids, default 0..num_layers-1). Returns a Placement with "
      "phy2log [num_layers, num_slots]. policy: balanced | deepseek | greedy. current: the "
      "deployed Placement incremental policies start from. routing: even | weighted (weighted "
      "also sets routing_weight). topology: relaxed | strict (with num_nodes/num_groups). "
      "max_moves (per layer, -1: no limit) and tolerance (max/mean given up for fewer moves) "
      "apply with current. slack: refinement stops within this factor of the lower bound. "
      "excluded_ranks: ranks out of service (iterable of ints in [0, num_ranks), not all): "
      "every layer is planned over the other ranks' slots; excluded slots keep their current "
      "(else default) expert with routing_weight 0 (routing_weight is then always set), and "
      "experts left without a live slot are reported in uncovered_experts. return_report: "
      "return (Placement, report dict) with report['layers'][i]['uncovered_experts'], "
      "'layers_uncovered', 'layers_relaxed', 'cross_node_share' and 'warnings'. The same "
      "options as `eplb plan` (--exclude-ranks).");
}

}  // namespace eplb::python
