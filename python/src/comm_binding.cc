// eplb.Communicator and eplb.InProcessWorld: the runtime's communication interface
// (eplb/comm.h) at the Python edge.
//
// eplb.Communicator is subclassable in Python (a nanobind trampoline), so any Python transport
// (torch.distributed, see eplb/torch_comm.py) can carry the balancer's messages. The C++ side
// calls the Python methods with the GIL taken; buffers are handed over as numpy views of the
// balancer's memory (no copies), valid until the returned handle reports a state other than
// "pending". A Python exception in an operation becomes a failed handle carrying its message,
// so the balancer's state stays consistent (a failed vote then raises from the hook).
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/unique_ptr.h>
#include <nanobind/trampoline.h>

#include <exception>
#include <string>

#include "bindings.h"
#include "eplb/comm.h"
#include "eplb/error.h"
#include "eplb/runtime/in_process_comm.h"

namespace eplb::python {
namespace {

// "pending" | "done" | "failed" | "timed_out" as returned by a Python handle.
CommState comm_state_arg(nb::handle state, const std::string& where) {
  if (nb::isinstance<nb::str>(state)) {
    const std::string name = nb::cast<std::string>(state);
    for (CommState s :
         {CommState::kPending, CommState::kDone, CommState::kFailed, CommState::kTimedOut}) {
      if (name == comm_state_name(s)) return s;
    }
  }
  throw Error(where + " returned " + nb::cast<std::string>(nb::repr(state)) +
              " (expected 'pending', 'done', 'failed' or 'timed_out')");
}

// An exception's text for error(): "ConnectionError: network down" for a Python exception
// (without its traceback), what() otherwise. GIL held.
std::string exception_text(const std::exception& e) {
  if (const auto* py = dynamic_cast<const nb::python_error*>(&e)) {
    return std::string(nb::type_name(py->type()).c_str()) + ": " +
           nb::cast<std::string>(nb::str(py->value()));
  }
  return e.what();
}

// A handle returned by a Python communicator: an object with poll() -> str,
// wait(timeout_s: float) -> str and optionally error() -> str (eplb.CommHandle in Python).
// Any exception from it makes the operation failed, with the exception's text as error().
class PyCommHandle final : public CommHandle {
 public:
  PyCommHandle(nb::object handle, std::string op)
      : handle_(std::move(handle)), op_(std::move(op)) {}
  PyCommHandle(const PyCommHandle&) = delete;
  PyCommHandle& operator=(const PyCommHandle&) = delete;
  ~PyCommHandle() override {
    nb::gil_scoped_acquire gil;
    handle_.reset();
  }

  static std::unique_ptr<CommHandle> failed(std::string op, std::string error) {
    auto h = std::make_unique<PyCommHandle>(nb::object(), std::move(op));
    h->error_ = h->op_ + ": " + error;
    return h;
  }

  CommState poll() override { return call("poll", nullptr); }

  CommState wait(std::chrono::milliseconds timeout) override {
    const double seconds = static_cast<double>(timeout.count()) / 1000.0;
    return call("wait", &seconds);
  }

  std::string error() const override {
    if (!error_.empty()) return error_;
    nb::gil_scoped_acquire gil;
    try {
      if (!nb::hasattr(handle_, "error")) return {};
      return nb::cast<std::string>(nb::str(handle_.attr("error")()));
    } catch (const std::exception& e) {
      return op_ + ".error(): " + exception_text(e);
    }
  }

 private:
  CommState call(const char* method, const double* timeout_s) {
    if (!error_.empty()) return CommState::kFailed;  // failed once: failed for good
    nb::gil_scoped_acquire gil;
    try {
      nb::object state =
          timeout_s == nullptr ? handle_.attr(method)() : handle_.attr(method)(*timeout_s);
      return comm_state_arg(state, op_ + " handle's " + method + "()");
    } catch (const std::exception& e) {
      error_ = op_ + " handle's " + method + "(): " + exception_text(e);
      return CommState::kFailed;
    }
  }

  nb::object handle_;  // None for a handle that failed at creation
  std::string op_;     // "all_gather", ... for messages
  std::string error_;
};

template <class T>
nb::object view_1d(T* data, size_t size) {
  const size_t shape[1] = {size};
  return nb::cast(nb::ndarray<nb::numpy, T>(data, 1, shape, nb::handle()),
                  nb::rv_policy::reference);
}

nb::object bytes_view(std::span<const std::byte> data) {
  return view_1d(reinterpret_cast<const uint8_t*>(data.data()), data.size());
}

nb::object bytes_view(std::span<std::byte> data) {
  return view_1d(reinterpret_cast<uint8_t*>(data.data()), data.size());
}

// The trampoline: Python subclasses implement rank(), num_ranks(), all_gather(), broadcast(),
// exchange() and optionally backend_name().
class PyCommunicator : public Communicator {
 public:
  NB_TRAMPOLINE(Communicator);

  int rank() const override {
    nb::gil_scoped_acquire gil;
    NB_OVERRIDE_PURE(rank);
  }

  int num_ranks() const override {
    nb::gil_scoped_acquire gil;
    NB_OVERRIDE_PURE(num_ranks);
  }

  std::string backend_name() const override {
    nb::gil_scoped_acquire gil;
    nb::detail::ticket t(nb_trampoline, "backend_name", nb::detail::str_hash("backend_name"),
                         false);
    if (t.key.is_valid()) return nb::cast<std::string>(nb_trampoline.base().attr(t.key)());
    return "python";
  }

  std::unique_ptr<CommHandle> all_gather(std::span<const double> local,
                                         std::span<double> gathered) override {
    nb::gil_scoped_acquire gil;
    const size_t n = local.size();
    const size_t rows = n > 0 ? gathered.size() / n : static_cast<size_t>(num_ranks());
    const size_t shape[2] = {rows, n};
    nb::object out =
        nb::cast(nb::ndarray<nb::numpy, double>(gathered.data(), 2, shape, nb::handle()),
                 nb::rv_policy::reference);
    return start("all_gather", nb::detail::str_hash("all_gather"), view_1d(local.data(), n), out);
  }

  std::unique_ptr<CommHandle> broadcast(std::span<std::byte> data, int root) override {
    nb::gil_scoped_acquire gil;
    return start("broadcast", nb::detail::str_hash("broadcast"), bytes_view(data), nb::int_(root));
  }

  std::unique_ptr<CommHandle> exchange(std::span<const SendOp> sends,
                                       std::span<const RecvOp> recvs) override {
    nb::gil_scoped_acquire gil;
    nb::list send_list, recv_list;
    for (const SendOp& s : sends) {
      send_list.append(nb::make_tuple(s.peer, s.tag, bytes_view(s.data)));
    }
    for (const RecvOp& r : recvs) {
      recv_list.append(nb::make_tuple(r.peer, r.tag, bytes_view(r.data)));
    }
    return start("exchange", nb::detail::str_hash("exchange"), send_list, recv_list);
  }

  void set_fault_injector(FaultInjector) override {
    throw Error(
        "set_fault_injector: not supported by Python communicators (inject faults in "
        "the Python subclass instead)");
  }

 private:
  // Calls the Python method `name` (GIL held); its result, or a failed handle when it raises or
  // returns None.
  template <class... Args>
  std::unique_ptr<CommHandle> start(const char* name, uint64_t hash, const Args&... args) {
    try {
      nb::detail::ticket t(nb_trampoline, name, hash, true);
      nb::object handle = nb_trampoline.base().attr(t.key)(args...);
      if (handle.is_none()) return PyCommHandle::failed(name, "returned None, not a handle");
      return std::make_unique<PyCommHandle>(std::move(handle), name);
    } catch (const std::exception& e) {
      return PyCommHandle::failed(name, exception_text(e));
    }
  }
};

}  // namespace

void bind_comm(nb::module_& m) {
  nb::class_<Communicator, PyCommunicator>(
      m, "Communicator",
      "The balancer's transport (eplb/comm.h): one per rank. Subclass it in Python and "
      "implement rank(), num_ranks(), all_gather(local, gathered), broadcast(data, root) and "
      "exchange(sends, recvs), each returning a handle (eplb.CommHandle: poll()/wait()), and "
      "call super().__init__(); or get "
      "one from eplb.InProcessWorld. Called on the serving thread, inside the hooks.")
      .def(nb::init<>())
      .def("rank", &Communicator::rank, "This rank's index in [0, num_ranks()).")
      .def("num_ranks", &Communicator::num_ranks, "Ranks of the group.")
      .def("backend_name", &Communicator::backend_name,
           "'in_process', 'mpi', ...; 'python' unless a subclass overrides it.")
      .def("__repr__", [](const Communicator& c) {
        return "Communicator(backend='" + c.backend_name() + "', rank=" + std::to_string(c.rank()) +
               ", num_ranks=" + std::to_string(c.num_ranks()) + ")";
      });

  nb::class_<InProcessWorld>(
      m, "InProcessWorld",
      "Ranks as threads of one process (tests, simulations): world.communicator(r) is rank r's "
      "communicator; run each rank's balancer on its own thread (the hooks release the GIL).")
      .def(nb::init<int>(), nb::arg("num_ranks"))
      .def_prop_ro("num_ranks", &InProcessWorld::num_ranks)
      .def("communicator", &InProcessWorld::communicator, nb::arg("rank_idx"),
           "Rank rank_idx's communicator (one per rank); it may outlive the world.");
}

}  // namespace eplb::python
