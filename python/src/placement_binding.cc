// eplb.Placement and the placement files of every engine (eplb JSON, TensorRT-LLM YAML,
// vllm-ascend expert map). phy2log and routing_weight are read-only views of the C++ vectors;
// log2phy and replica_count are computed into new arrays.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <algorithm>

#include "arrays.h"
#include "bindings.h"
#include "eplb/placement.h"
#include "eplb/placement_io.h"
#include "eplb/replica_table.h"

namespace eplb::python {
namespace {

std::optional<PlacementFormat> format_arg(const std::optional<std::string>& name) {
  if (!name) return std::nullopt;
  return parse_placement_format(*name, "format");
}

template <class T>
nb::object view_2d(nb::handle self, const std::vector<T>& values, int rows, int cols) {
  if (values.empty()) return new_array(std::vector<T>{}, {static_cast<size_t>(rows), static_cast<size_t>(cols)});
  const size_t shape[2] = {static_cast<size_t>(rows), static_cast<size_t>(cols)};
  return nb::cast(nb::ndarray<nb::numpy, const T>(values.data(), 2, shape, self));
}

void check_layer_idx(const Placement& p, int layer_idx) {
  if (layer_idx < 0 || layer_idx >= p.num_layers) {
    throw nb::value_error(("layer_idx " + std::to_string(layer_idx) + " out of range [0, " +
                           std::to_string(p.num_layers) + ")").c_str());
  }
}

Placement make_placement(nb::handle phy2log, int num_ranks, std::optional<int> num_experts,
                         nb::handle layer_ids, nb::handle routing_weight) {
  const nb::ndarray<nb::ro> a = as_input(phy2log, "phy2log", 2);
  Placement p;
  p.num_layers = static_cast<int>(a.shape(0));
  p.num_slots = static_cast<int>(a.shape(1));
  p.num_ranks = num_ranks;
  p.phy2log = to_int32_vector(a, "phy2log");
  if (num_experts) {
    p.num_experts = *num_experts;
  } else {
    const auto top = std::max_element(p.phy2log.begin(), p.phy2log.end());
    p.num_experts = top == p.phy2log.end() ? 0 : *top + 1;
  }
  p.layer_ids = layer_ids_arg(layer_ids, p.num_layers);
  if (!routing_weight.is_none()) {
    const nb::ndarray<nb::ro> w = as_input(routing_weight, "routing_weight", 2);
    if (w.shape(0) != a.shape(0) || w.shape(1) != a.shape(1)) {
      throw nb::value_error(("routing_weight: shape " + shape_text(w) + " differs from phy2log's " +
                             shape_text(a)).c_str());
    }
    p.routing_weight = to_double_vector(w, "routing_weight");
  }
  validate_placement(p, "placement");
  return p;
}

nb::object log2phy_array(const Placement& p) {
  int width = 0;
  std::vector<std::vector<int32_t>> rows(static_cast<size_t>(p.num_layers));
  std::vector<int> widths(rows.size());
  for (int l = 0; l < p.num_layers; ++l) {
    rows[static_cast<size_t>(l)] = p.log2phy(l, &widths[static_cast<size_t>(l)]);
    width = std::max(width, widths[static_cast<size_t>(l)]);
  }
  const size_t experts = static_cast<size_t>(p.num_experts), w = static_cast<size_t>(width);
  std::vector<int32_t> out(rows.size() * experts * w, -1);
  for (size_t l = 0; l < rows.size(); ++l) {
    const size_t lw = static_cast<size_t>(widths[l]);
    for (size_t e = 0; e < experts; ++e) {
      std::copy_n(rows[l].begin() + static_cast<ptrdiff_t>(e * lw), lw,
                  out.begin() + static_cast<ptrdiff_t>((l * experts + e) * w));
    }
  }
  return new_array(std::move(out), {rows.size(), experts, w});
}

nb::object replica_count_array(const Placement& p) {
  std::vector<int32_t> out;
  out.reserve(static_cast<size_t>(p.num_layers) * static_cast<size_t>(p.num_experts));
  for (int l = 0; l < p.num_layers; ++l) {
    for (int c : p.replica_count(l)) out.push_back(c);
  }
  return new_array(std::move(out), {static_cast<size_t>(p.num_layers),
                                    static_cast<size_t>(p.num_experts)});
}

using State = std::tuple<int, int, int, int, std::vector<int>, std::vector<int32_t>,
                         std::vector<double>>;

}  // namespace

void bind_placement(nb::module_& m) {
  nb::class_<Placement>(m, "Placement",
                        "Which logical expert every physical slot of every MoE layer holds; "
                        "slot s lives on rank s // slots_per_rank.")
      .def("__init__",
           [](Placement* self, nb::handle phy2log, int num_ranks, std::optional<int> num_experts,
              nb::handle layer_ids, nb::handle routing_weight) {
             new (self) Placement(
                 make_placement(phy2log, num_ranks, num_experts, layer_ids, routing_weight));
           },
           nb::arg("phy2log"), nb::arg("num_ranks"), nb::arg("num_experts") = nb::none(),
           nb::arg("layer_ids") = nb::none(), nb::arg("routing_weight") = nb::none())
      .def_static("contiguous",
                  [](int num_layers, int num_experts, int num_ranks, int num_slots,
                     std::optional<std::vector<int>> layer_ids) {
                    Placement p = Placement::contiguous(num_layers, num_experts, num_ranks,
                                                        num_slots, layer_ids.value_or(std::vector<int>{}));
                    validate_placement(p, "Placement.contiguous");
                    return p;
                  },
                  nb::arg("num_layers"), nb::arg("num_experts"), nb::arg("num_ranks"),
                  nb::arg("num_slots"), nb::arg("layer_ids") = nb::none())
      .def_static("load",
                  [](nb::handle path, std::optional<std::string> format, int num_ranks,
                     int num_experts) {
                    PlacementReadOptions options;
                    options.format = format_arg(format);
                    options.num_ranks = num_ranks;
                    options.num_experts = num_experts;
                    return read_placement(path_arg(path, "path"), options);
                  },
                  nb::arg("path"), nb::arg("format") = nb::none(), nb::arg("num_ranks") = 0,
                  nb::arg("num_experts") = 0)
      .def("save",
           [](const Placement& p, nb::handle path, std::optional<std::string> format) {
             const std::string file = path_arg(path, "path");
             const PlacementFormat f = format ? parse_placement_format(*format, "format")
                                              : placement_format_from_extension(file).value_or(
                                                    PlacementFormat::kEplb);
             write_placement(file, p, f);
           },
           nb::arg("path"), nb::arg("format") = nb::none())
      .def_ro("num_layers", &Placement::num_layers)
      .def_ro("num_experts", &Placement::num_experts)
      .def_ro("num_ranks", &Placement::num_ranks)
      .def_ro("num_slots", &Placement::num_slots)
      .def_prop_ro("slots_per_rank", &Placement::slots_per_rank)
      .def_prop_ro("layer_ids", [](const Placement& p) { return p.layer_ids; })
      .def_prop_ro("phy2log",
                   [](nb::handle self) {
                     const Placement& p = nb::cast<const Placement&>(self);
                     return view_2d(self, p.phy2log, p.num_layers, p.num_slots);
                   })
      .def_prop_ro("routing_weight",
                   [](nb::handle self) -> nb::object {
                     const Placement& p = nb::cast<const Placement&>(self);
                     if (!p.has_routing_weight()) return nb::none();
                     return view_2d(self, p.routing_weight, p.num_layers, p.num_slots);
                   })
      .def_prop_ro("log2phy", &log2phy_array)
      .def_prop_ro("replica_count", &replica_count_array)
      .def("rank_of_slot",
           [](const Placement& p, int slot_idx) {
             if (slot_idx < 0 || slot_idx >= p.num_slots || p.num_ranks <= 0) {
               throw nb::value_error(("slot_idx " + std::to_string(slot_idx) + " out of range [0, " +
                                      std::to_string(p.num_slots) + ") or num_ranks unknown").c_str());
             }
             return p.rank_of_slot(slot_idx);
           },
           nb::arg("slot_idx"))
      .def("find_layer", &Placement::find_layer, nb::arg("layer_id"))
      .def("replica_table",
           [](const Placement& p, int layer_idx) {
             check_layer_idx(p, layer_idx);
             if (p.num_ranks <= 0) {
               throw nb::value_error("replica_table: num_ranks is unknown (read the placement "
                                     "with num_ranks=)");
             }
             const std::span<const int32_t> phy2log = p.layer_phy2log(layer_idx);
             const std::span<const double> weight = p.layer_routing_weight(layer_idx);
             nb::gil_scoped_release release;
             return build_replica_table(phy2log, p.num_experts, p.slots_per_rank(), weight);
           },
           nb::arg("layer_idx"))
      .def(
          "__eq__",
          [](const Placement& a, const Placement& b) {
            return a.num_layers == b.num_layers && a.num_experts == b.num_experts &&
                   a.num_ranks == b.num_ranks && a.num_slots == b.num_slots &&
                   a.layer_ids == b.layer_ids && a.phy2log == b.phy2log &&
                   a.routing_weight == b.routing_weight;
          },
          nb::is_operator())

      .def("__getstate__",
           [](const Placement& p) {
             return State(p.num_layers, p.num_experts, p.num_ranks, p.num_slots, p.layer_ids,
                          p.phy2log, p.routing_weight);
           })
      .def("__setstate__",
           [](Placement* self, const State& s) {
             Placement p;
             std::tie(p.num_layers, p.num_experts, p.num_ranks, p.num_slots, p.layer_ids,
                      p.phy2log, p.routing_weight) = s;
             const size_t cells = static_cast<size_t>(std::max(p.num_layers, 0)) *
                                  static_cast<size_t>(std::max(p.num_slots, 0));
             if (p.phy2log.size() != cells ||
                 p.layer_ids.size() != static_cast<size_t>(std::max(p.num_layers, 0)) ||
                 (!p.routing_weight.empty() && p.routing_weight.size() != cells)) {
               throw nb::value_error("Placement.__setstate__: inconsistent state");
             }
             new (self) Placement(std::move(p));
           })
      .def("__repr__", [](const Placement& p) {
        return "Placement(num_layers=" + std::to_string(p.num_layers) +
               ", num_experts=" + std::to_string(p.num_experts) +
               ", num_ranks=" + std::to_string(p.num_ranks) +
               ", num_slots=" + std::to_string(p.num_slots) +
               (p.has_routing_weight() ? ", routing_weight=True)" : ")");
      });

  // Mutable-content equality, so unhashable like any Python class defining __eq__ only.
  m.attr("Placement").attr("__hash__") = nb::none();

  m.def(
      "read_placement",
      [](nb::handle path, std::optional<std::string> format, int num_ranks, int num_experts) {
        PlacementReadOptions options;
        options.format = format_arg(format);
        options.num_ranks = num_ranks;
        options.num_experts = num_experts;
        return read_placement(path_arg(path, "path"), options);
      },
      nb::arg("path"), nb::arg("format") = nb::none(), nb::arg("num_ranks") = 0,
      nb::arg("num_experts") = 0);
  m.def(
      "write_placement",
      [](nb::handle path, const Placement& p, std::optional<std::string> format) {
        const std::string file = path_arg(path, "path");
        write_placement(file, p,
                        format ? parse_placement_format(*format, "format")
                               : placement_format_from_extension(file).value_or(
                                     PlacementFormat::kEplb));
      },
      nb::arg("path"), nb::arg("placement"), nb::arg("format") = nb::none());
  m.def(
      "format_placement",
      [](const Placement& p, const std::string& format) {
        return format_placement(p, parse_placement_format(format, "format"));
      },
      nb::arg("placement"), nb::arg("format") = "eplb");
  m.def("check_placement", &check_placement, nb::arg("placement"));
  m.def("validate_placement", &validate_placement, nb::arg("placement"),
        nb::arg("where") = "placement");
  m.def("count_moved_slots", &count_moved_slots, nb::arg("from_placement"),
        nb::arg("to_placement"));
  m.def("align_layers", &align_layers, nb::arg("placement"), nb::arg("layer_ids"),
        nb::arg("where") = "placement");
}

}  // namespace eplb::python
