// The _eplb extension module: Python bindings of the eplb core (re-exported by eplb/__init__.py).
// Every eplb::Error becomes eplb.Error, a subclass of ValueError, with the core's message.
#include <nanobind/nanobind.h>

#include "bindings.h"
#include "eplb/error.h"

#ifndef EPLB_VERSION
#define EPLB_VERSION "unknown"
#endif

NB_MODULE(_eplb, m) {
  namespace nb = nanobind;
  m.doc() = "eplb: expert-parallel load balancer for Mixture-of-Experts serving (C++ core)";
  m.attr("__version__") = EPLB_VERSION;
  nb::exception<eplb::Error>(m, "Error", PyExc_ValueError);
  eplb::python::bind_load_matrix(m);
  eplb::python::bind_placement(m);
  eplb::python::bind_planner(m);
  eplb::python::bind_balance(m);
  eplb::python::bind_routing(m);
  eplb::python::bind_recorder(m);
  eplb::python::bind_comm(m);
  eplb::python::bind_weight_store(m);
  eplb::python::bind_balancer_config(m);
  eplb::python::bind_balancer(m);
}
