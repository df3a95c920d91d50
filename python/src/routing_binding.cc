// Hot-path helpers of a serving step: expert-load counting and log2phy token routing. topk_ids
// are read in place (numpy, or torch through DLPack) when C-contiguous int32 (int64 too for
// counting); results are written into the caller's array when one is given (counts=, out=) and
// come back in the framework of topk_ids (a torch tensor for a torch input) otherwise.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>

#include "arrays.h"
#include "bindings.h"
#include "eplb/error.h"
#include "eplb/load_counter.h"
#include "eplb/replica_table.h"
#include "eplb/token_router.h"

namespace eplb::python {

RoutePolicy route_policy_arg(const std::string& name) {
  if (name == "round_robin") return RoutePolicy::kRoundRobin;
  if (name == "local_first") return RoutePolicy::kLocalFirst;
  if (name == "weighted") return RoutePolicy::kWeighted;
  throw Error("policy " + name + ": unknown route policy (expected round_robin, local_first or "
              "weighted)");
}

namespace {

// Calls fn with topk_ids as std::span<const int32_t> or std::span<const int64_t>: in place when
// C-contiguous int32/int64, else through an int64 copy.
template <class Fn>
auto with_ids(const nb::ndarray<nb::ro>& ids, Fn fn) {
  if (is_c_contiguous(ids) && ids.dtype() == nb::dtype<int32_t>()) {
    return fn(std::span<const int32_t>(static_cast<const int32_t*>(ids.data()), ids.size()));
  }
  if (is_c_contiguous(ids) && ids.dtype() == nb::dtype<int64_t>()) {
    return fn(std::span<const int64_t>(static_cast<const int64_t*>(ids.data()), ids.size()));
  }
  const std::vector<int64_t> copy = to_int64_vector(ids, "topk_ids");
  return fn(std::span<const int64_t>(copy));
}

// The counts array and a pointer to its data: `counts` checked, or a new zero array.
template <class T>
std::pair<nb::object, T*> counts_arg(nb::handle counts, nb::handle topk_ids, int num_experts) {
  if (num_experts < 0) {
    throw Error("count_expert_load: num_experts=" + std::to_string(num_experts) + " is negative");
  }
  if (counts.is_none()) {
    T* data = nullptr;
    nb::object fresh = new_array(std::vector<T>(static_cast<size_t>(num_experts), T{0}),
                                 {static_cast<size_t>(num_experts)}, is_torch(topk_ids), &data);
    return {fresh, data};
  }
  const int64_t shape[1] = {num_experts};
  const nb::ndarray<> out = as_output(counts, "counts", nb::dtype<T>(), shape);
  return {nb::borrow(counts), static_cast<T*>(out.data())};
}

template <class T>
nb::object table_view(nb::handle self, const std::vector<T>& values) {
  if (values.empty()) return new_array(std::vector<T>{}, {0});
  const size_t shape[1] = {values.size()};
  return nb::cast(nb::ndarray<nb::numpy, const T>(values.data(), 1, shape, self));
}

void check_index(int idx, int size, const char* name) {
  if (idx < 0 || idx >= size) {
    throw nb::value_error((std::string(name) + " " + std::to_string(idx) + " out of range [0, " +
                           std::to_string(size) + ")").c_str());
  }
}

}  // namespace

void bind_routing(nb::module_& m) {
  m.def(
      "count_expert_load",
      [](nb::handle topk_ids, int num_experts, nb::handle counts) {
        const nb::ndarray<nb::ro> ids = as_input(topk_ids, "topk_ids", -1);
        auto [result, data] = counts_arg<int64_t>(counts, topk_ids, num_experts);
        const std::span<int64_t> out(data, static_cast<size_t>(num_experts));
        const int64_t ignored = with_ids(ids, [&](auto span) {
          nb::gil_scoped_release release;
          return count_expert_load(span, num_experts, out);
        });
        return std::make_pair(result, ignored);
      },
      nb::arg("topk_ids"), nb::arg("num_experts"), nb::arg("counts") = nb::none(),
      "Adds the occurrences of every logical expert in topk_ids (any shape, e.g. [num_tokens, "
      "k], integer ids) into counts [num_experts] int64 (a new zero array when None). Returns "
      "(counts, num_ignored): ids outside [0, num_experts) are not counted.");
  m.def(
      "count_expert_load_decayed",
      [](nb::handle topk_ids, int num_experts, double decay, nb::handle counts) {
        const nb::ndarray<nb::ro> ids = as_input(topk_ids, "topk_ids", -1);
        auto [result, data] = counts_arg<double>(counts, topk_ids, num_experts);
        const std::span<double> out(data, static_cast<size_t>(num_experts));
        const int64_t ignored = with_ids(ids, [&](auto span) {
          nb::gil_scoped_release release;
          return count_expert_load_decayed(span, num_experts, decay, out);
        });
        return std::make_pair(result, ignored);
      },
      nb::arg("topk_ids"), nb::arg("num_experts"), nb::arg("decay"),
      nb::arg("counts") = nb::none(),
      "counts[e] = counts[e] * decay + n[e] for the occurrences n[e] in topk_ids; counts "
      "[num_experts] float64 (a new zero array when None). Returns (counts, num_ignored).");

  nb::class_<ReplicaTable>(m, "ReplicaTable",
                           "The replicas of every logical expert of one layer (CSR): the "
                           "physical slots of expert e are slot[offset[e]:offset[e + 1]].")
      .def_ro("num_experts", &ReplicaTable::num_experts)
      .def_ro("num_slots", &ReplicaTable::num_slots)
      .def_ro("slots_per_rank", &ReplicaTable::slots_per_rank)
      .def_prop_ro("offset", [](nb::handle self) {
        return table_view(self, nb::cast<const ReplicaTable&>(self).offset);
      }, "[num_experts + 1] int32 row starts (read-only view).")
      .def_prop_ro("slot", [](nb::handle self) {
        return table_view(self, nb::cast<const ReplicaTable&>(self).slot);
      }, "[offset[num_experts]] int32 physical slots grouped by logical expert (read-only view).")
      .def_prop_ro("cum_weight", [](nb::handle self) {
        return table_view(self, nb::cast<const ReplicaTable&>(self).cum_weight);
      }, "[offset[num_experts]] float32 cumulative routing share (read-only view).")
      .def("replica_count",
           [](const ReplicaTable& t, int expert_idx) {
             check_index(expert_idx, t.num_experts, "expert_idx");
             return t.replica_count(expert_idx);
           },
           nb::arg("expert_idx"))
      .def("slot_rank",
           [](const ReplicaTable& t, int slot_idx) {
             check_index(slot_idx, t.num_slots, "slot_idx");
             return t.slot_rank(slot_idx);
           },
           nb::arg("slot_idx"))
      .def("__repr__", [](const ReplicaTable& t) {
        return "ReplicaTable(num_experts=" + std::to_string(t.num_experts) +
               ", num_slots=" + std::to_string(t.num_slots) +
               ", slots_per_rank=" + std::to_string(t.slots_per_rank) + ")";
      });

  m.def(
      "build_replica_table",
      [](nb::handle phy2log, int num_experts, int slots_per_rank, nb::handle routing_weight) {
        std::vector<int32_t> storage;
        const nb::ndarray<nb::ro> slots = as_input(phy2log, "phy2log", 1);
        const std::span<const int32_t> ids = int32_ids(slots, "phy2log", storage);
        std::vector<double> weight;
        if (!routing_weight.is_none()) {
          weight = to_double_vector(as_input(routing_weight, "routing_weight", 1),
                                    "routing_weight");
        }
        return build_replica_table(ids, num_experts, slots_per_rank, weight);
      },
      nb::arg("phy2log"), nb::arg("num_experts"), nb::arg("slots_per_rank"),
      nb::arg("routing_weight") = nb::none(),
      "The replica table of one layer: phy2log [num_slots] (-1: empty slot), routing_weight "
      "None (even split) or [num_slots].");

  m.def(
      "route_tokens",
      [](nb::handle topk_ids, const ReplicaTable& table, const std::string& policy,
         int local_rank, uint64_t seed, nb::handle out) {
        const RoutePolicy route_policy = route_policy_arg(policy);
        const nb::ndarray<nb::ro> ids = as_input(topk_ids, "topk_ids", 2);
        const size_t num_tokens = ids.shape(0), k = ids.shape(1);
        std::vector<int32_t> storage;
        const std::span<const int32_t> in = int32_ids(ids, "topk_ids", storage);
        nb::object result;
        int32_t* data = nullptr;
        if (out.is_none()) {
          result = new_array(std::vector<int32_t>(num_tokens * k), {num_tokens, k},
                             is_torch(topk_ids), &data);
        } else {
          const int64_t shape[2] = {static_cast<int64_t>(num_tokens), static_cast<int64_t>(k)};
          data = static_cast<int32_t*>(
              as_output(out, "out", nb::dtype<int32_t>(), shape).data());
          result = nb::borrow(out);
        }
        {
          nb::gil_scoped_release release;
          route_tokens(in, static_cast<int>(k), table, route_policy, local_rank, seed,
                       std::span<int32_t>(data, num_tokens * k));
        }
        return result;
      },
      nb::arg("topk_ids"), nb::arg("table"), nb::arg("policy") = "round_robin",
      nb::arg("local_rank") = -1, nb::arg("seed") = 0, nb::arg("out") = nb::none(),
      "Physical slot ids [num_tokens, k] int32 for the logical expert ids topk_ids [num_tokens, "
      "k] (int32 read in place; other integer dtypes converted). policy: round_robin | "
      "local_first | weighted. Ids out of range, and experts without a replica, map to -1.");
}

}  // namespace eplb::python
