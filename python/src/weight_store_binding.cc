// eplb.ExpertWeightStore and eplb.HostWeightStore: where a rank's expert weights live
// (eplb/runtime/weight_store.h). Slot and staging buffers are handed out as writable uint8 numpy
// views of the store's memory (no copies; the view keeps the store alive): fill a slot with
// `store.slot_bytes(layer, i)[:] = weights.view(np.uint8).ravel()`, read it back with
// `.view(np.float32)`, or wrap it for torch with torch.from_numpy. eplb.HostExpertCopy
// (eplb/runtime/host_expert_copy.h), the host copy of every expert that restores experts lost
// with a masked rank, hands out its buffers the same way.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>

#include <string>

#include "bindings.h"
#include "eplb/error.h"
#include "eplb/runtime/host_expert_copy.h"
#include "eplb/runtime/weight_store.h"

namespace eplb::python {
namespace {

nb::object bytes_view(nb::handle owner, std::span<std::byte> bytes) {
  const size_t shape[1] = {bytes.size()};
  return nb::cast(
      nb::ndarray<nb::numpy, uint8_t>(reinterpret_cast<uint8_t*>(bytes.data()), 1, shape, owner));
}

// [num_layers, slots_per_rank, bytes_per_expert] view of every live slot. The store lays its
// buffers out at a fixed stride (bytes_per_expert rounded up to 64); checked here, not assumed.
nb::object slots_view(nb::handle self) {
  auto& store = nb::cast<HostWeightStore&>(self);
  const int layers = store.num_layers(), spr = store.slots_per_rank();
  std::byte* base = store.slot_bytes(0, 0).data();
  int64_t stride = 0;
  if (spr > 1)
    stride = store.slot_bytes(0, 1).data() - base;
  else if (layers > 1)
    stride = store.slot_bytes(1, 0).data() - base;
  for (int l = 0; l < layers; ++l) {
    for (int i = 0; i < spr; ++i) {
      if (store.slot_bytes(l, i).data() != base + (int64_t{l} * spr + i) * stride) {
        throw Error("HostWeightStore.slots: slot buffers are not evenly strided");
      }
    }
  }
  const size_t shape[3] = {static_cast<size_t>(layers), static_cast<size_t>(spr),
                           store.bytes_per_expert()};
  const int64_t strides[3] = {stride * spr, stride, 1};
  return nb::cast(
      nb::ndarray<nb::numpy, uint8_t>(reinterpret_cast<uint8_t*>(base), 3, shape, self, strides));
}

// [num_layers, num_experts, bytes_per_expert] view of a HostExpertCopy (one contiguous block).
nb::object experts_view(nb::handle self) {
  auto& copy = nb::cast<HostExpertCopy&>(self);
  const size_t shape[3] = {static_cast<size_t>(copy.num_layers()),
                           static_cast<size_t>(copy.num_experts()), copy.bytes_per_expert()};
  return nb::cast(nb::ndarray<nb::numpy, uint8_t>(
      reinterpret_cast<uint8_t*>(copy.expert_bytes(0, 0).data()), 3, shape, self));
}

}  // namespace

void bind_weight_store(nb::module_& m) {
  nb::class_<ExpertWeightStore>(
      m, "ExpertWeightStore",
      "A rank's expert weights: [num_layers, slots_per_rank] live slots and [num_staging_areas, "
      "slots_per_rank] staging buffers of bytes_per_expert bytes each. Local slot i of rank r is "
      "global slot r * slots_per_rank + i.")
      .def_prop_ro("bytes_per_expert", &ExpertWeightStore::bytes_per_expert)
      .def_prop_ro("num_staging_areas", &ExpertWeightStore::num_staging_areas)
      .def(
          "slot_bytes",
          [](nb::handle self, int layer_idx, int local_slot_idx) {
            auto& store = nb::cast<ExpertWeightStore&>(self);
            return bytes_view(self, store.slot_bytes(layer_idx, local_slot_idx));
          },
          nb::arg("layer_idx"), nb::arg("local_slot_idx"),
          "[bytes_per_expert] uint8 writable view (no copy) of the live weights of local slot "
          "local_slot_idx of layer layer_idx. The balancer overwrites it when it commits a "
          "layer (inside before_forward).")
      .def(
          "staging_bytes",
          [](nb::handle self, int area_idx, int local_slot_idx) {
            auto& store = nb::cast<ExpertWeightStore&>(self);
            return bytes_view(self, store.staging_bytes(area_idx, local_slot_idx));
          },
          nb::arg("area_idx"), nb::arg("local_slot_idx"),
          "[bytes_per_expert] uint8 writable view of a staging buffer (where incoming weights "
          "land before a commit).");

  nb::class_<HostWeightStore, ExpertWeightStore>(
      m, "HostWeightStore",
      "Host-memory ExpertWeightStore: zero-initialised buffers, each aligned to 64 bytes.")
      .def(nb::init<int, int, size_t, int>(), nb::arg("num_layers"), nb::arg("slots_per_rank"),
           nb::arg("bytes_per_expert"), nb::arg("num_staging_areas") = 2,
           "Raises eplb.Error for non-positive shapes (bytes_per_expert may be 0: placement "
           "only). num_staging_areas bounds the layers in flight (>= the balancer's "
           "layer_updates_per_iter).")
      .def_prop_ro("num_layers", &HostWeightStore::num_layers)
      .def_prop_ro("slots_per_rank", &HostWeightStore::slots_per_rank)
      .def_prop_ro("slots", &slots_view,
                   "[num_layers, slots_per_rank, bytes_per_expert] uint8 writable view (no copy, "
                   "strided: rows are 64-byte aligned) of every live slot.")
      .def("__repr__", [](const HostWeightStore& s) {
        return "HostWeightStore(num_layers=" + std::to_string(s.num_layers()) +
               ", slots_per_rank=" + std::to_string(s.slots_per_rank()) +
               ", bytes_per_expert=" + std::to_string(s.bytes_per_expert()) +
               ", num_staging_areas=" + std::to_string(s.num_staging_areas()) + ")";
      });

  nb::class_<HostExpertCopy>(
      m, "HostExpertCopy",
      "A host-memory copy of every logical expert's weights ([num_layers, num_experts] buffers "
      "of bytes_per_expert bytes, zero-initialised), the source a Balancer with "
      "lost_expert_policy 'restore' reloads lost experts from: pass it as "
      "Balancer(..., load_expert=copy) (copied in C++, no Python call, no GIL). Memory: the "
      "whole MoE part of the model.")
      .def(nb::init<int, int, size_t>(), nb::arg("num_layers"), nb::arg("num_experts"),
           nb::arg("bytes_per_expert"),
           "Raises eplb.Error for non-positive layer or expert counts or a size that overflows.")
      .def_prop_ro("num_layers", &HostExpertCopy::num_layers)
      .def_prop_ro("num_experts", &HostExpertCopy::num_experts)
      .def_prop_ro("bytes_per_expert", &HostExpertCopy::bytes_per_expert)
      .def(
          "expert_bytes",
          [](nb::handle self, int layer_idx, int expert_idx) {
            auto& copy = nb::cast<HostExpertCopy&>(self);
            return bytes_view(self, copy.expert_bytes(layer_idx, expert_idx));
          },
          nb::arg("layer_idx"), nb::arg("expert_idx"),
          "[bytes_per_expert] uint8 writable view (no copy) of expert expert_idx of layer "
          "layer_idx: fill it from the checkpoint. Raises eplb.Error naming an index out of "
          "range.")
      .def_prop_ro("experts", &experts_view,
                   "[num_layers, num_experts, bytes_per_expert] uint8 writable view (no copy, "
                   "contiguous) of every expert.")
      .def("__repr__", [](const HostExpertCopy& c) {
        return "HostExpertCopy(num_layers=" + std::to_string(c.num_layers()) +
               ", num_experts=" + std::to_string(c.num_experts()) +
               ", bytes_per_expert=" + std::to_string(c.bytes_per_expert()) + ")";
      });
}

}  // namespace eplb::python
