// eplb.LoadRecorder: the runtime's per-layer expert-load recorder, fed once per MoE layer per
// step straight from the router's topk_ids (numpy, or torch through DLPack: int32/int64
// C-contiguous ids are read in place).
#include <nanobind/stl/string.h>

#include "arrays.h"
#include "bindings.h"
#include "eplb/error.h"
#include "eplb/runtime/recorder.h"

namespace eplb::python {

RecorderMode recorder_mode_arg(const std::string& name) {
  if (name == "windowed") return RecorderMode::kWindowed;
  if (name == "decayed") return RecorderMode::kDecayed;
  throw Error("mode " + name + ": unknown recorder mode (expected windowed or decayed)");
}

const char* recorder_mode_name(RecorderMode mode) {
  return mode == RecorderMode::kWindowed ? "windowed" : "decayed";
}

namespace {

void check_layer(const LoadRecorder& r, int layer_idx) {
  if (layer_idx < 0 || layer_idx >= r.num_layers()) {
    throw Error("layer_idx " + std::to_string(layer_idx) + " out of range [0, " +
                std::to_string(r.num_layers()) + ")");
  }
}

}  // namespace

void bind_recorder(nb::module_& m) {
  nb::class_<LoadRecorder>(m, "LoadRecorder",
                           "Per-layer, per-logical-expert token counts of live traffic: a sum of "
                           "the last window_steps steps (mode='windowed') or a decayed sum "
                           "(mode='decayed'). Not thread-safe.")
      .def("__init__",
           [](LoadRecorder* self, int num_layers, int num_experts, const std::string& mode,
              int window_steps, double decay) {
             RecorderOptions options;
             options.mode = recorder_mode_arg(mode);
             options.window_steps = window_steps;
             options.decay = decay;
             new (self) LoadRecorder(num_layers, num_experts, options);
           },
           nb::arg("num_layers"), nb::arg("num_experts"), nb::kw_only(),
           nb::arg("mode") = "windowed", nb::arg("window_steps") = 1, nb::arg("decay") = 0.9)
      .def_prop_ro("num_layers", &LoadRecorder::num_layers)
      .def_prop_ro("num_experts", &LoadRecorder::num_experts)
      .def_prop_ro("mode", [](const LoadRecorder& r) {
        return r.options().mode == RecorderMode::kWindowed ? "windowed" : "decayed";
      })
      .def_prop_ro("window_steps", [](const LoadRecorder& r) { return r.options().window_steps; })
      .def_prop_ro("decay", [](const LoadRecorder& r) { return r.options().decay; })
      .def_prop_ro("num_closed_steps", &LoadRecorder::num_closed_steps)
      .def(
          "record_topk",
          [](LoadRecorder& r, int layer_idx, nb::handle topk_ids) {
            check_layer(r, layer_idx);
            const nb::ndarray<nb::ro> ids = as_input(topk_ids, "topk_ids", -1);
            if (is_c_contiguous(ids) && ids.dtype() == nb::dtype<int32_t>()) {
              const std::span<const int32_t> span(static_cast<const int32_t*>(ids.data()),
                                                  ids.size());
              nb::gil_scoped_release release;
              return r.record_topk(layer_idx, span);
            }
            std::vector<int64_t> copy;
            std::span<const int64_t> span;
            if (is_c_contiguous(ids) && ids.dtype() == nb::dtype<int64_t>()) {
              span = {static_cast<const int64_t*>(ids.data()), ids.size()};
            } else {
              copy = to_int64_vector(ids, "topk_ids");
              span = copy;
            }
            nb::gil_scoped_release release;
            return r.record_topk(layer_idx, span);
          },
          nb::arg("layer_idx"), nb::arg("topk_ids"),
          "Adds topk_ids (any shape, e.g. [num_tokens, k], logical expert ids) to layer "
          "`layer_idx` of the open step. Returns how many ids lay outside [0, num_experts).")
      .def(
          "record_counts",
          [](LoadRecorder& r, int layer_idx, nb::handle expert_counts) {
            check_layer(r, layer_idx);
            const nb::ndarray<nb::ro> a = as_input(expert_counts, "expert_counts", 1);
            std::vector<int64_t> copy;
            std::span<const int64_t> span;
            if (is_c_contiguous(a) && a.dtype() == nb::dtype<int64_t>()) {
              span = {static_cast<const int64_t*>(a.data()), a.size()};
            } else {
              copy = to_int64_vector(a, "expert_counts");
              span = copy;
            }
            r.record_counts(layer_idx, span);
          },
          nb::arg("layer_idx"), nb::arg("expert_counts"),
          "Adds expert_counts [num_experts] (tokens per logical expert) to layer `layer_idx`.")
      .def("end_step", &LoadRecorder::end_step, "Closes the open step.")
      .def("snapshot", &LoadRecorder::snapshot,
           "The statistic as of the open step: a LoadMatrix [num_layers, num_experts].")
      .def(
          "snapshot_into",
          [](const LoadRecorder& r, nb::handle out) {
            const int64_t shape[2] = {r.num_layers(), r.num_experts()};
            const nb::ndarray<> a = as_output(out, "out", nb::dtype<double>(), shape);
            r.snapshot_into({static_cast<double*>(a.data()), a.size()});
            return nb::borrow(out);
          },
          nb::arg("out"),
          "Writes the statistic into out [num_layers, num_experts] float64 (no allocation).")
      .def("reset", &LoadRecorder::reset, "Forgets every recorded step.")
      .def("__repr__", [](const LoadRecorder& r) {
        return "LoadRecorder(num_layers=" + std::to_string(r.num_layers()) +
               ", num_experts=" + std::to_string(r.num_experts()) + ", mode='" +
               (r.options().mode == RecorderMode::kWindowed ? "windowed" : "decayed") + "')";
      });
}

}  // namespace eplb::python
