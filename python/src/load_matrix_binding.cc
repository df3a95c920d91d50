// eplb.LoadMatrix and eplb.read_loads: the loads every planner and report reads.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <numeric>

#include "arrays.h"
#include "bindings.h"
#include "eplb/load_reader.h"

namespace eplb::python {
namespace {

// A "A:B" string or a slice(A, B) (step None) as an IndexRange; `flag` names the argument.
std::optional<IndexRange> range_arg(nb::handle value, const char* flag) {
  if (value.is_none()) return std::nullopt;
  if (nb::isinstance<nb::str>(value)) return parse_index_range(nb::cast<std::string>(value), flag);
  if (nb::isinstance<nb::slice>(value)) {
    nb::object start = value.attr("start"), stop = value.attr("stop"), step = value.attr("step");
    if (!step.is_none() && nb::cast<int64_t>(step) != 1) {
      throw nb::value_error((std::string(flag) + ": a slice with a step is not a range").c_str());
    }
    IndexRange range;
    if (!start.is_none()) range.begin = nb::cast<int64_t>(start);
    if (!stop.is_none()) range.end = nb::cast<int64_t>(stop);
    return range;
  }
  throw nb::value_error((std::string(flag) + ": expected \"A:B\", a slice or None, got " +
                         nb::type_name(value.type()).c_str()).c_str());
}

nb::object values_view(nb::handle self) {
  LoadMatrix& m = nb::cast<LoadMatrix&>(self);
  if (m.values.empty()) m.values.reserve(1);
  const size_t shape[2] = {static_cast<size_t>(m.num_layers), static_cast<size_t>(m.num_experts)};
  return nb::cast(nb::ndarray<nb::numpy, double>(m.values.data(), 2, shape, self));
}

}  // namespace

std::vector<int> layer_ids_arg(nb::handle layer_ids, int num_layers) {
  std::vector<int> ids(static_cast<size_t>(num_layers));
  if (layer_ids.is_none()) {
    std::iota(ids.begin(), ids.end(), 0);
    return ids;
  }
  const std::vector<int32_t> given = to_int32_vector(as_input(layer_ids, "layer_ids", 1),
                                                     "layer_ids");
  if (given.size() != ids.size()) {
    throw nb::value_error(("layer_ids: " + std::to_string(given.size()) + " ids for " +
                           std::to_string(num_layers) + " layers").c_str());
  }
  return {given.begin(), given.end()};
}

std::string path_arg(nb::handle path, const char* name) {
  try {
    nb::object fs = nb::module_::import_("os").attr("fspath")(path);
    if (nb::isinstance<nb::str>(fs)) return nb::cast<std::string>(fs);
  } catch (nb::python_error&) {
  }
  throw nb::value_error((std::string(name) + ": expected a str or os.PathLike path, got " +
                         nb::type_name(path.type()).c_str()).c_str());
}

LoadMatrix load_matrix_arg(nb::handle loads, nb::handle layer_ids) {
  if (nb::isinstance<LoadMatrix>(loads)) {
    if (!layer_ids.is_none()) {
      throw nb::value_error("layer_ids: a LoadMatrix carries its own layer ids; give layer_ids "
                            "only with an array of loads");
    }
    return nb::cast<const LoadMatrix&>(loads);
  }
  const nb::ndarray<nb::ro> a = as_input(loads, "loads", 2);
  LoadMatrix m;
  m.num_layers = static_cast<int>(a.shape(0));
  m.num_experts = static_cast<int>(a.shape(1));
  m.values = to_double_vector(a, "loads");
  m.layer_ids = layer_ids_arg(layer_ids, m.num_layers);
  m.validate("loads");
  return m;
}

void bind_load_matrix(nb::module_& m) {
  nb::class_<LoadMatrix>(m, "LoadMatrix",
                         "Token loads of the MoE layers of one model: values [num_layers, "
                         "num_experts] float64 per logical expert, with the layer id of each row.")
      .def("__init__",
           [](LoadMatrix* self, nb::handle values, nb::handle layer_ids) {
             new (self) LoadMatrix(load_matrix_arg(values, layer_ids));
           },
           nb::arg("values"), nb::arg("layer_ids") = nb::none(),
           "values: [num_layers, num_experts] real numbers >= 0 (copied to float64); layer_ids: "
           "[num_layers] ints, default 0..num_layers-1.")
      .def_static("zeros", &LoadMatrix::zeros, nb::arg("num_layers"), nb::arg("num_experts"))
      .def_ro("num_layers", &LoadMatrix::num_layers)
      .def_ro("num_experts", &LoadMatrix::num_experts)
      .def_prop_ro("layer_ids", [](const LoadMatrix& lm) { return lm.layer_ids; },
                   "[num_layers] original layer id of each row (a list).")
      .def_prop_ro("values", [](nb::handle self) { return values_view(self); },
                   "[num_layers, num_experts] float64, a writable view (no copy).")
      .def("__array__",
           [](nb::handle self, nb::handle dtype, nb::handle copy) {
             nb::object view = values_view(self);
             const bool want_copy = !copy.is_none() && nb::cast<bool>(copy);
             if (dtype.is_none() && !want_copy) return view;
             return nb::object(nb::module_::import_("numpy").attr("array")(view, dtype));
           },
           nb::arg("dtype") = nb::none(), nb::arg("copy") = nb::none())
      .def("has_data", [](const LoadMatrix& lm, int layer_idx) {
             if (layer_idx < 0 || layer_idx >= lm.num_layers) {
               throw nb::value_error(("layer_idx " + std::to_string(layer_idx) +
                                      " out of range [0, " + std::to_string(lm.num_layers) + ")")
                                         .c_str());
             }
             return lm.has_data(layer_idx);
           }, nb::arg("layer_idx"))
      .def("rows", &LoadMatrix::rows, nb::arg("begin"), nb::arg("end"))
      .def("validate", &LoadMatrix::validate, nb::arg("where") = "loads")
      .def("__repr__", [](const LoadMatrix& lm) {
        return "LoadMatrix(num_layers=" + std::to_string(lm.num_layers) +
               ", num_experts=" + std::to_string(lm.num_experts) + ")";
      });

  m.def(
      "read_loads",
      [](nb::handle path, nb::handle window, nb::handle layers, const Placement* placement) {
        LoadReadOptions options;
        options.window = range_arg(window, "window");
        options.layers = range_arg(layers, "layers");
        options.placement = placement;
        const std::string file = path_arg(path, "path");
        nb::gil_scoped_release release;
        return read_loads(file, options);
      },
      nb::arg("path"), nb::arg("window") = nb::none(), nb::arg("layers") = nb::none(),
      nb::arg("placement") = nb::none(),
      "Reads expert loads: .csv, .npy ([layers, experts] or [steps, layers, experts]), SGLang "
      ".json dump, or a TensorRT-LLM statistics directory. window/layers: \"A:B\" or slice(A, B).");
}

}  // namespace eplb::python
