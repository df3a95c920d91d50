// eplb.Balancer: the online runtime (eplb/runtime/balancer.h) at the Python edge.
//
// Threading: a Balancer belongs to one serving thread. The hooks (before_forward,
// after_forward), route() and wait_planner_idle() release the GIL while the C++ code runs, so
// the ranks of an InProcessWorld can step on Python threads of one process and wait for each
// other's votes. Everything Python the hooks call back into takes the GIL again on the serving
// thread: the log, on_event and load_expert callbacks, and a Python Communicator's methods. An
// exception raised by a callback does not unwind the C++ hook (its state stays consistent): the
// first one is re-raised when the hook returns (a raising load_expert also fails its layer on
// every rank, as a failed transfer).
//
// plan_layer, the one callback that runs on the planner WORKER thread, takes the GIL there for
// the call. Its errors (a Python exception, a result of the wrong shape, dtype or ids) become a
// C++ eplb::Error: the balancer logs it ("planning failed ... layer L: plan_layer raised
// ValueError: ...") and counts a planner failure on every rank; they are never re-raised from a
// hook (the worker's failures are the balancer's to count, like the C++ planner's). No deadlock:
// the worker holds no balancer lock while it plans, and every call that waits for the worker
// releases the GIL first (the hooks, wait_planner_idle, and the destructor, which joins it).
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "arrays.h"
#include "bindings.h"
#include "eplb/error.h"
#include "eplb/runtime/balancer.h"
#include "eplb/runtime/host_expert_copy.h"

namespace eplb::python {
namespace {

const char* log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
  }
  return "unknown";
}

// [bytes] writable uint8 numpy view of `bytes` (no copy), keeping `owner` (the store) alive.
nb::object bytes_view(nb::handle owner, std::span<std::byte> bytes) {
  const size_t shape[1] = {bytes.size()};
  return nb::cast(
      nb::ndarray<nb::numpy, uint8_t>(reinterpret_cast<uint8_t*>(bytes.data()), 1, shape, owner));
}

// [n] read-only numpy array owning a copy of `values`: the planner may keep it after the call
// (a few KB per layer, off the serving path).
template <class T>
nb::object const_copy(std::span<const T> values) {
  nb::object a = new_array(std::vector<T>(values.begin(), values.end()), {values.size()});
  a.attr("setflags")(nb::arg("write") = false);
  return a;
}

bool interpreter_finalizing() {
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsFinalizing() != 0;
#else
  return _Py_IsFinalizing() != 0;
#endif
}

// Whether `fn` can be called with four positional arguments (inspect.signature(fn).bind). A
// callable whose signature Python cannot tell (some builtins) counts as not. GIL held.
bool takes_four_arguments(nb::handle fn) {
  try {
    nb::module_::import_("inspect").attr("signature")(fn).attr("bind")(0, 0, 0, 0);
    return true;
  } catch (nb::python_error&) {
    return false;
  }
}

// plan_layer's result checked and written into `phy2log` [num_slots]; an empty string, or what
// is wrong with it. GIL held.
std::string take_planned_row(nb::handle result, int num_experts, std::span<int32_t> phy2log) {
  std::vector<int64_t> ids;
  try {
    const nb::ndarray<nb::ro> a = as_input(result, "plan_layer's result", -1);
    if (a.ndim() != 1 || a.shape(0) != phy2log.size()) {
      return "plan_layer returned an array of shape " + shape_text(a) + ", expected (" +
             std::to_string(phy2log.size()) + ",) = [num_slots]";
    }
    ids = to_int64_vector(a, "plan_layer's result");
  } catch (const std::exception& e) {
    return e.what();  // "plan_layer's result: expected ..., got ..."
  }
  for (size_t s = 0; s < ids.size(); ++s) {
    if (ids[s] < 0 || ids[s] >= num_experts) {
      return "plan_layer returned phy2log[" + std::to_string(s) + "] = " + std::to_string(ids[s]) +
             ", not a logical expert id in [0, " + std::to_string(num_experts) + ")";
    }
  }
  std::copy(ids.begin(), ids.end(), phy2log.begin());
  return {};
}

// A Balancer with the Python objects it uses kept alive (comm, store, callbacks).
class PyBalancer {
 public:
  PyBalancer(const BalancerConfig& config, nb::object comm, nb::object store, nb::object log,
             nb::object on_event, nb::object load_expert, nb::object plan_layer)
      : comm_(std::move(comm)),
        store_(std::move(store)),
        log_(std::move(log)),
        on_event_(std::move(on_event)),
        load_expert_(std::move(load_expert)),
        plan_layer_(std::move(plan_layer)) {
    BalancerCallbacks callbacks;
    // The std::functions capture `this`, not Python objects: destroying them needs no GIL.
    if (!log_.is_none()) {
      callbacks.log = [this](LogLevel level, const std::string& message) {
        call_back([&] { log_(log_level_name(level), message); });
      };
    }
    if (!on_event_.is_none()) {
      callbacks.on_event = [this](const BalancerEvent& event) {
        call_back([&] { on_event_(event); });
      };
    }
    if (nb::isinstance<HostExpertCopy>(load_expert_)) {
      // Copied in C++ on the serving thread; the copy is kept alive by load_expert_.
      callbacks.load_expert = nb::cast<const HostExpertCopy&>(load_expert_).loader();
    } else if (!load_expert_.is_none()) {
      if (!PyCallable_Check(load_expert_.ptr())) {
        throw nb::type_error(("load_expert: expected a callable load_expert(layer, expert, dst), "
                              "an eplb.HostExpertCopy or None, got " +
                              std::string(nb::type_name(load_expert_.type()).c_str()))
                                 .c_str());
      }
      // Runs inside before_forward (GIL released): the Python exception is kept for the hook
      // to re-raise, and a C++ error tells the balancer this rank's load failed (the layer is
      // then given up on every rank, its old weights and map kept).
      callbacks.load_expert = [this](int layer_idx, int expert_idx, std::span<std::byte> dst) {
        nb::gil_scoped_acquire gil;
        try {
          load_expert_(layer_idx, expert_idx, bytes_view(store_, dst));
        } catch (nb::python_error& e) {
          // "load_expert raised RuntimeError: ..." in the balancer's log (no traceback).
          std::string what = "load_expert raised " + std::string(nb::type_name(e.type()).c_str()) +
                             ": " + std::string(nb::str(e.value()).c_str());
          if (!pending_) pending_.emplace(std::move(e));
          throw Error(what);
        }
      };
    }
    if (!plan_layer_.is_none()) {
      if (!PyCallable_Check(plan_layer_.ptr())) {
        throw nb::type_error(("plan_layer: expected a callable plan_layer(layer, expert_loads, "
                              "current_phy2log[, masked_ranks]) -> phy2log or None, got " +
                              std::string(nb::type_name(plan_layer_.type()).c_str()))
                                 .c_str());
      }
      plan_layer_takes_masked_ = takes_four_arguments(plan_layer_);
      callbacks.plan_layer = [this, num_experts = config.num_experts](const LayerPlanInput& in,
                                                                      std::span<int32_t> phy2log) {
        plan_in_python(in, num_experts, phy2log);
      };
    }
    if (!nb::isinstance<Communicator>(comm_)) {
      throw nb::type_error(("comm: expected an eplb.Communicator, got " +
                            std::string(nb::type_name(comm_.type()).c_str()))
                               .c_str());
    }
    if (!store_.is_none() && !nb::isinstance<ExpertWeightStore>(store_)) {
      throw nb::type_error(("store: expected an eplb.ExpertWeightStore (e.g. HostWeightStore) "
                            "or None, got " +
                            std::string(nb::type_name(store_.type()).c_str()))
                               .c_str());
    }
    ExpertWeightStore* store_ptr =
        store_.is_none() ? nullptr : &nb::cast<ExpertWeightStore&>(store_);
    // The C++ interface has no shape to check; a HostWeightStore's is checked here.
    if (const auto* host = dynamic_cast<const HostWeightStore*>(store_ptr)) {
      if (host->num_layers() != config.num_layers ||
          host->slots_per_rank() != config.resolved_slots_per_rank()) {
        validate_balancer_config(config);  // a bad config is reported as such first
        throw Error("Balancer: the weight store has " + std::to_string(host->num_layers()) +
                    " layers x " + std::to_string(host->slots_per_rank()) +
                    " slots per rank but the config has num_layers " +
                    std::to_string(config.num_layers) + " x " +
                    std::to_string(config.resolved_slots_per_rank()) + " slots per rank");
      }
    }
    // With the GIL held: a Python Communicator's rank()/num_ranks() are called here.
    balancer_ = std::make_unique<Balancer>(config, nb::cast<Communicator&>(comm_), store_ptr,
                                           std::move(callbacks));
  }

  PyBalancer(const PyBalancer&) = delete;
  PyBalancer& operator=(const PyBalancer&) = delete;

  ~PyBalancer() {
    // The worker finishes the plan it is running before the join returns: later layers of it
    // fail at once instead of calling plan_layer again.
    closing_.store(true, std::memory_order_relaxed);
    // Joins the worker, which may be waiting for the GIL inside plan_layer; a Python comm's
    // handles re-take it too.
    nb::gil_scoped_release release;
    balancer_.reset();
  }

  Balancer& get() { return *balancer_; }

  // Runs a hook without the GIL, then re-raises the first callback exception.
  template <class Fn>
  void run_hook(Fn fn) {
    try {
      nb::gil_scoped_release release;
      fn(*balancer_);
    } catch (...) {
      pending_.reset();
      throw;
    }
    if (pending_) {
      nb::python_error error = std::move(*pending_);
      pending_.reset();
      throw error;
    }
  }

 private:
  template <class Fn>
  void call_back(Fn fn) {
    nb::gil_scoped_acquire gil;
    try {
      fn();
    } catch (nb::python_error& e) {
      if (!pending_) pending_.emplace(std::move(e));
    }
  }

  // The plan_layer callback, on the worker thread (GIL not held on entry). Throws eplb::Error
  // naming the problem; the balancer adds the layer and counts a planner failure. pending_ is
  // the serving thread's: not touched here.
  void plan_in_python(const LayerPlanInput& in, int num_experts, std::span<int32_t> phy2log) {
    if (closing_.load(std::memory_order_relaxed)) {
      throw Error("plan_layer not called: the balancer is being destroyed");
    }
    // A thread taking the GIL during interpreter shutdown is stopped by Python for good.
    if (interpreter_finalizing()) {
      throw Error("plan_layer not called: the Python interpreter is shutting down");
    }
    std::string problem;
    {
      nb::gil_scoped_acquire gil;
      try {
        const nb::object result =
            plan_layer_takes_masked_
                ? plan_layer_(in.layer_idx, const_copy(in.expert_loads),
                              const_copy(in.current_phy2log),
                              std::vector<int>(in.masked_ranks.begin(), in.masked_ranks.end()))
                : plan_layer_(in.layer_idx, const_copy(in.expert_loads),
                              const_copy(in.current_phy2log));
        problem = take_planned_row(result, num_experts, phy2log);
      } catch (nb::python_error& e) {
        problem = "plan_layer raised " + std::string(nb::type_name(e.type()).c_str()) + ": ";
        try {
          problem += nb::str(e.value()).c_str();
        } catch (nb::python_error&) {
          problem += "(its str() raised)";
        }
      } catch (const std::exception& e) {
        problem = std::string("plan_layer failed: ") + e.what();
      }
    }
    if (!problem.empty()) throw Error(problem);
  }

  nb::object comm_, store_, log_, on_event_, load_expert_, plan_layer_;
  bool plan_layer_takes_masked_ = false;     // plan_layer(layer, loads, current, masked_ranks)
  std::optional<nb::python_error> pending_;  // first callback exception of the running hook
  std::atomic<bool> closing_{false};         // set by the destructor, read by the worker
  std::unique_ptr<Balancer> balancer_;       // destroyed first (declared last)
};

nb::dict cycle_dict(const CycleMetrics& c) {
  nb::dict d;
  d["cycle_idx"] = c.cycle_idx;
  d["gather_step"] = c.gather_step;
  d["take_step"] = c.take_step;
  d["end_step"] = c.end_step;
  d["imbalance_before_mean"] = c.imbalance_before_mean;
  d["imbalance_before_max"] = c.imbalance_before_max;
  d["imbalance_after_mean"] = c.imbalance_after_mean;
  d["imbalance_after_max"] = c.imbalance_after_max;
  d["layers_changed"] = c.layers_changed;
  d["layers_committed"] = c.layers_committed;
  d["layers_failed"] = c.layers_failed;
  d["moved_experts"] = c.moved_experts;
  d["bytes_moved"] = c.bytes_moved;
  d["plan_ms"] = c.plan_ms;
  d["transfer_ms"] = c.transfer_ms;
  d["hook_us_p50"] = c.hook_us_p50;
  d["hook_us_p99"] = c.hook_us_p99;
  d["hook_us_max"] = c.hook_us_max;
  d["planner_failed"] = c.planner_failed;
  d["plan_late"] = c.plan_late;
  d["planner_timed_out"] = c.planner_timed_out;
  return d;
}

nb::dict metrics_dict(const BalancerMetrics& m) {
  nb::dict d;
  d["steps"] = m.steps;
  d["cycles"] = m.cycles;
  d["rebalances"] = m.rebalances;
  d["moved_experts"] = m.moved_experts;
  d["bytes_moved"] = m.bytes_moved;
  d["planner_failures"] = m.planner_failures;
  d["late_plans"] = m.late_plans;
  d["transfer_failures"] = m.transfer_failures;
  d["record_failures"] = m.record_failures;
  d["planner_timeouts"] = m.planner_timeouts;
  d["dropped_tokens"] = m.dropped_tokens;
  d["reloaded_experts"] = m.reloaded_experts;
  d["masked_ranks"] = m.masked_ranks;
  d["lost_experts"] = m.lost_experts;
  d["hook_us_p50"] = m.hook_us_p50;
  d["hook_us_p99"] = m.hook_us_p99;
  d["hook_us_max"] = m.hook_us_max;
  d["last_cycle"] = cycle_dict(m.last_cycle);
  return d;
}

nb::object route(PyBalancer& self, int layer_idx, nb::handle topk_ids, uint64_t seed,
                 nb::handle out) {
  const nb::ndarray<nb::ro> ids = as_input(topk_ids, "topk_ids", 2);
  const size_t num_tokens = ids.shape(0), k = ids.shape(1);
  if (k == 0) throw Error("topk_ids: shape " + shape_text(ids) + " has k = 0 columns");
  std::vector<int32_t> storage;
  const std::span<const int32_t> in = int32_ids(ids, "topk_ids", storage);
  nb::object result;
  int32_t* data = nullptr;
  if (out.is_none()) {
    result =
        new_array(std::vector<int32_t>(num_tokens * k), {num_tokens, k}, is_torch(topk_ids), &data);
  } else {
    const int64_t shape[2] = {static_cast<int64_t>(num_tokens), static_cast<int64_t>(k)};
    data = static_cast<int32_t*>(as_output(out, "out", nb::dtype<int32_t>(), shape).data());
    result = nb::borrow(out);
  }
  {
    nb::gil_scoped_release release;
    self.get().route(layer_idx, in, static_cast<int>(k), std::span<int32_t>(data, num_tokens * k),
                     seed);
  }
  return result;
}

}  // namespace

void bind_balancer(nb::module_& m) {
  nb::class_<BalancerEvent>(m, "BalancerEvent",
                            "What a hook did (on_event's argument): kind 'gather_started', "
                            "'plan_taken', 'plan_late', 'plan_failed', 'plan_timed_out', "
                            "'layer_posted', "
                            "'layer_committed', 'layer_failed', 'cycle_ended', "
                            "'record_written' or 'record_failed'.")
      .def_prop_ro("kind", [](const BalancerEvent& e) { return balancer_event_name(e.kind); })
      .def_ro("step", &BalancerEvent::step, "The hook's step.")
      .def_ro("in_after_forward", &BalancerEvent::in_after_forward,
              "True: raised in after_forward; False: in before_forward.")
      .def_ro("layer_idx", &BalancerEvent::layer_idx, "Layer events only; else -1.")
      .def_ro("cycle_idx", &BalancerEvent::cycle_idx)
      .def("__repr__", [](const BalancerEvent& e) {
        return std::string("BalancerEvent(kind='") + balancer_event_name(e.kind) +
               "', step=" + std::to_string(e.step) +
               ", in_after_forward=" + (e.in_after_forward ? "True" : "False") +
               ", layer_idx=" + std::to_string(e.layer_idx) +
               ", cycle_idx=" + std::to_string(e.cycle_idx) + ")";
      });

  nb::class_<PyBalancer>(
      m, "Balancer",
      "The online balancer of one rank: call before_forward(step)/after_forward(step) around "
      "every forward step, feed balancer.recorder between them and route tokens with route(). "
      "It re-plans in a background thread and moves expert weights (in `store`) layer by layer "
      "through `comm`. One serving thread per Balancer; the hooks release the GIL; log, "
      "on_event and load_expert run on the serving thread inside the hooks, plan_layer on the "
      "planner worker thread. mask_ranks / "
      "unmask_ranks take lost ranks out of (and back into) service.")
      .def(nb::init<const BalancerConfig&, nb::object, nb::object, nb::object, nb::object,
                    nb::object, nb::object>(),
           nb::arg("config"), nb::arg("comm"), nb::arg("store") = nb::none(), nb::kw_only(),
           nb::arg("log") = nb::none(), nb::arg("on_event") = nb::none(),
           nb::arg("load_expert") = nb::none(), nb::arg("plan_layer") = nb::none(),
           "config: BalancerConfig (validated: eplb.Error naming the knob); comm: this rank's "
           "Communicator (num_ranks() == config.num_ranks); store: this rank's "
           "ExpertWeightStore, or None to move placements only; log(level: str, message: str) "
           "with level 'info' | 'warning' | 'error'; on_event(event: BalancerEvent); "
           "load_expert(layer: int, expert: int, dst: numpy uint8 [bytes_per_expert] writable "
           "view of the destination staging buffer): writes the weights of a logical expert "
           "whose every replica sits on a masked rank (required with lost_expert_policy "
           "'restore' and a store with bytes_per_expert > 0); called on the serving thread "
           "inside before_forward; raising fails the layer (retried next cycle) and the "
           "exception is re-raised from the hook. An eplb.HostExpertCopy as load_expert copies "
           "from it in C++ without calling Python. plan_layer(layer: int, expert_loads: numpy "
           "float64 [num_experts], current_phy2log: numpy int32 [num_slots]) -> phy2log int "
           "array-like [num_slots]: replaces the built-in planner for each layer with load data "
           "(arguments: read-only numpy copies); runs on the planner worker "
           "thread with the GIL taken; an exception or a bad result (shape, dtype, id out of "
           "[0, num_experts)) is logged and counted as a planner failure (the cycle keeps the "
           "placement, the next cycle retries), never raised from a hook; slots of masked "
           "ranks keep their expert whatever it returns.")
      .def(
          "before_forward",
          [](PyBalancer& b, int64_t step) {
            b.run_hook([step](Balancer& x) { x.before_forward(step); });
          },
          nb::arg("step"),
          "Before forward step `step` (steps increase): may commit moved layers, switching "
          "their weights and routing. Raises eplb.Error on misuse or a vote timeout.")
      .def(
          "after_forward",
          [](PyBalancer& b, int64_t step) {
            b.run_hook([step](Balancer& x) { x.after_forward(step); });
          },
          nb::arg("step"), "After forward step `step`: closes the recorder's step, votes.")
      .def_prop_ro(
          "recorder", [](PyBalancer& b) -> LoadRecorder& { return b.get().recorder(); },
          nb::rv_policy::reference_internal,
          "The LoadRecorder of the serving traffic: record_topk(layer_idx, topk_ids) between "
          "the hooks; never call end_step() or reset() on it (the balancer does).")
      .def("route", &route, nb::arg("layer_idx"), nb::arg("topk_ids"), nb::kw_only(),
           nb::arg("seed") = 0, nb::arg("out") = nb::none(),
           "Physical slots [num_tokens, k] int32 for the logical expert ids topk_ids "
           "[num_tokens, k] of layer layer_idx under the committed placement, with "
           "config.route_policy and this rank as the local rank (int32 C-contiguous ids read "
           "in place, other integer dtypes converted; a torch input gives a torch result; out: "
           "a C-contiguous int32 [num_tokens, k] array written in place).")
      .def_prop_ro(
          "placement", [](PyBalancer& b) { return b.get().placement(); },
          "A copy of the committed Placement (all layers); it changes only inside "
          "before_forward.")
      .def(
          "replica_table",
          [](PyBalancer& b, int layer_idx) { return b.get().replica_table(layer_idx); },
          nb::arg("layer_idx"), "A copy of layer layer_idx's committed ReplicaTable.")
      .def_prop_ro(
          "config", [](PyBalancer& b) { return b.get().config(); }, "A copy.")
      .def_prop_ro("rank", [](PyBalancer& b) { return b.get().rank(); })
      .def_prop_ro(
          "phase", [](PyBalancer& b) { return balancer_phase_name(b.get().phase()); },
          "'static' | 'collecting' | 'planning' | 'moving'.")
      .def_prop_ro(
          "cycle_idx", [](PyBalancer& b) { return b.get().cycle_idx(); }, "Cycles started so far.")
      .def(
          "metrics", [](PyBalancer& b) { return metrics_dict(b.get().metrics()); },
          "Running totals (steps, cycles, rebalances, moved_experts, bytes_moved, "
          "planner_failures, late_plans, transfer_failures, record_failures, planner_timeouts, "
          "dropped_tokens, reloaded_experts, hook_us_p50/p99/max), the gauges masked_ranks and "
          "lost_experts (counts now) and 'last_cycle': a dict of the last ended cycle "
          "(cycle_idx -1 before any).")
      .def(
          "mask_ranks",
          [](PyBalancer& b, nb::handle ranks) {
            const std::vector<int> list = int_list_arg(ranks, "ranks");
            b.run_hook([&list](Balancer& x) { x.mask_ranks(list); });
          },
          nb::arg("ranks"),
          "Takes `ranks` (any iterable of ints) out of service, on top of those already masked. "
          "Call it on EVERY rank with the same ranks between the same two hooks (e.g. right "
          "after after_forward(t)); masked ranks keep calling the hooks. From then on route() "
          "never returns a slot on a masked rank (an expert's tokens are split evenly over its "
          "live replicas; an expert without one goes to slot -1, counted in "
          "metrics()['dropped_tokens']), the plan in progress is discarded and the next cycle "
          "re-plans over the live ranks only. Raises eplb.Error for a rank out of range, when "
          "every rank would be masked, and under lost_expert_policy 'refuse' when a masked rank "
          "holds the last live replica of an expert (the message names them, 'layer 0: 5,6'; "
          "nothing changes).")
      .def(
          "unmask_ranks",
          [](PyBalancer& b, nb::handle ranks) {
            const std::vector<int> list = int_list_arg(ranks, "ranks");
            b.run_hook([&list](Balancer& x) { x.unmask_ranks(list); });
          },
          nb::arg("ranks"),
          "Returns `ranks` (any iterable of ints) to service, with the same calling contract as "
          "mask_ranks; assumes their slots still hold their weights. A new cycle re-plans over "
          "the live ranks. Raises eplb.Error for a rank out of range.")
      .def_prop_ro(
          "masked_ranks", [](PyBalancer& b) { return nb::cast(b.get().masked_ranks()); },
          "The masked ranks, ascending (a new list).")
      .def_prop_ro(
          "lost_experts",
          [](PyBalancer& b) {
            nb::list layers;
            for (const std::vector<int32_t>& row : b.get().lost_experts()) {
              nb::list experts;
              for (int32_t e : row) experts.append(e);
              layers.append(experts);
            }
            return layers;
          },
          "[num_layers] lists of the logical experts without a replica on a live rank, "
          "ascending (their tokens are routed to slot -1 until a re-plan restores them).")
      .def(
          "prometheus_text", [](PyBalancer& b) { return b.get().prometheus_text(); },
          "metrics() in Prometheus' text exposition format, labelled rank=\"<rank>\".")
      .def(
          "wait_planner_idle",
          [](PyBalancer& b) {
            nb::gil_scoped_release release;
            b.get().wait_planner_idle();
          },
          "Blocks until the planner worker has no job (tests; never in a serving loop).")
      .def("__repr__", [](PyBalancer& b) {
        return "Balancer(rank=" + std::to_string(b.get().rank()) + ", phase='" +
               balancer_phase_name(b.get().phase()) +
               "', cycle_idx=" + std::to_string(b.get().cycle_idx()) + ")";
      });
}

}  // namespace eplb::python
