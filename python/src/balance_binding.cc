// eplb.report (the dict `eplb report --json` prints), rank_loads and contiguous_rank_loads.
#include <nanobind/stl/optional.h>

#include <optional>

#include "arrays.h"
#include "bindings.h"
#include "eplb/balance.h"
#include "eplb/error.h"

namespace eplb::python {
namespace {

nb::dict balance_dict(const LayerBalance& b) {
  nb::dict d;
  d["has_data"] = b.has_data;
  auto value = [&](double v) { return b.has_data ? nb::object(nb::float_(v)) : nb::none(); };
  d["mean"] = value(b.mean);
  d["std"] = value(b.std);
  d["max"] = value(b.max);
  d["imbalance"] = value(b.imbalance);
  d["peak_to_avg"] = value(b.peak_to_avg);
  return d;
}

nb::dict report(nb::handle loads_arg, const Placement* placement_arg, std::optional<int> ranks,
                nb::handle layer_ids) {
  const LoadMatrix loads = load_matrix_arg(loads_arg, layer_ids);
  int num_ranks = ranks.value_or(0);
  std::optional<Placement> placement;
  if (placement_arg != nullptr) {
    // As `eplb report --placement`: same experts, rows matched to the loads' layers.
    if (placement_arg->num_experts != loads.num_experts) {
      throw Error("--placement: placement has " + std::to_string(placement_arg->num_experts) +
                  " experts but the loads have " + std::to_string(loads.num_experts));
    }
    placement = align_layers(*placement_arg, loads.layer_ids, "--placement");
    if (placement->num_ranks == 0) {
      placement->num_ranks = num_ranks;  // a TensorRT-LLM YAML read without num_ranks
      if (num_ranks > 0) validate_placement(*placement, "--placement");
    } else if (num_ranks > 0 && num_ranks != placement->num_ranks) {
      throw Error("--ranks " + std::to_string(num_ranks) + ": the placement has " +
                  std::to_string(placement->num_ranks) + " ranks");
    }
    num_ranks = placement->num_ranks;
  } else if (num_ranks <= 0) {
    throw Error("--ranks is required without --placement (experts are then laid out "
                "contiguously over that many ranks)");
  }
  BalanceReport r;
  {
    nb::gil_scoped_release release;
    r = balance_report(loads, placement ? &*placement : nullptr, num_ranks);
  }
  nb::dict out;
  out["num_layers"] = loads.num_layers;
  out["num_experts"] = loads.num_experts;
  out["num_ranks"] = num_ranks;
  out["num_layers_with_data"] = r.num_layers_with_data;
  nb::list layers;
  for (int l = 0; l < loads.num_layers; ++l) {
    nb::dict layer = balance_dict(r.layers[static_cast<size_t>(l)]);
    layer["layer"] = loads.layer_ids[static_cast<size_t>(l)];
    layers.append(layer);
  }
  out["layers"] = layers;
  out["average"] = balance_dict(r.average);
  out["max_peak_to_avg"] =
      r.average.has_data ? nb::object(nb::float_(r.max_peak_to_avg)) : nb::none();
  return out;
}

std::vector<double> expert_loads_arg(nb::handle expert_loads) {
  return to_double_vector(as_input(expert_loads, "expert_loads", 1), "expert_loads");
}

}  // namespace

void bind_balance(nb::module_& m) {
  m.def("report", &report, nb::arg("loads"), nb::arg("placement") = nb::none(),
        nb::arg("num_ranks") = nb::none(), nb::arg("layer_ids") = nb::none(),
        "Rank-load balance per layer and on average, as `eplb report --json` prints it (less "
        "the file names): experts contiguous on num_ranks ranks, or under `placement`.");
  m.def(
      "rank_loads",
      [](nb::handle expert_loads, nb::handle phy2log, int num_ranks, nb::handle routing_weight) {
        const std::vector<double> loads = expert_loads_arg(expert_loads);
        const std::vector<int32_t> slots = to_int32_vector(as_input(phy2log, "phy2log", 1),
                                                           "phy2log");
        std::vector<double> weight;
        if (!routing_weight.is_none()) {
          weight = to_double_vector(as_input(routing_weight, "routing_weight", 1),
                                    "routing_weight");
          if (weight.size() != slots.size()) {
            throw Error("routing_weight has " + std::to_string(weight.size()) +
                        " entries, phy2log " + std::to_string(slots.size()));
          }
        }
        for (size_t s = 0; s < slots.size(); ++s) {
          if (slots[s] < 0 || static_cast<size_t>(slots[s]) >= loads.size()) {
            throw Error("phy2log[" + std::to_string(s) + "]: expert " + std::to_string(slots[s]) +
                        " out of range [0, " + std::to_string(loads.size()) + ")");
          }
        }
        return new_array(rank_loads(loads, slots, weight, num_ranks),
                         {static_cast<size_t>(std::max(num_ranks, 0))});
      },
      nb::arg("expert_loads"), nb::arg("phy2log"), nb::arg("num_ranks"),
      nb::arg("routing_weight") = nb::none(),
      "[num_ranks] tokens each rank receives in one layer: expert_loads [num_experts], phy2log "
      "[num_slots], routing_weight None (even split) or [num_slots].");
  m.def(
      "contiguous_rank_loads",
      [](nb::handle expert_loads, int num_ranks) {
        if (num_ranks <= 0) throw Error("num_ranks " + std::to_string(num_ranks) + " must be > 0");
        return new_array(contiguous_rank_loads(expert_loads_arg(expert_loads), num_ranks),
                         {static_cast<size_t>(num_ranks)});
      },
      nb::arg("expert_loads"), nb::arg("num_ranks"),
      "[num_ranks] loads with expert e on rank e * num_ranks // num_experts (no replicas).");
}

}  // namespace eplb::python
