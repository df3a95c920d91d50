// eplb.RecorderOptions and eplb.BalancerConfig (eplb/runtime/balancer_config.h): every field
// under its C++ name, enums as strings (policy "balanced", route_policy "round_robin", routing
// "even", recorder mode "windowed", lost_expert_policy "refuse"), vote_timeout as vote_timeout_ms.
// Construction does not validate (fields may be set one by one); validate() and eplb.Balancer do,
// raising eplb.Error with the core's message ("BalancerConfig: algorithm_execution_interval 0 must
// be >= 1").
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>

#include <string>

#include "bindings.h"
#include "eplb/planner.h"
#include "eplb/runtime/balancer_config.h"

namespace eplb::python {
namespace {

std::string config_repr(const BalancerConfig& c) {
  return "BalancerConfig(num_layers=" + std::to_string(c.num_layers) +
         ", num_experts=" + std::to_string(c.num_experts) +
         ", num_ranks=" + std::to_string(c.num_ranks) +
         ", num_redundant_experts=" + std::to_string(c.num_redundant_experts) + ", policy='" +
         policy_name(c.policy) + "', route_policy='" + route_policy_name(c.route_policy) +
         "', routing='" + routing_name(c.routing) +
         "', dynamic_eplb=" + (c.dynamic_eplb ? "True" : "False") +
         ", expert_heat_collection_interval=" + std::to_string(c.expert_heat_collection_interval) +
         ", algorithm_execution_interval=" + std::to_string(c.algorithm_execution_interval) +
         ", layer_updates_per_iter=" + std::to_string(c.layer_updates_per_iter) +
         ", planner_timeout_steps=" + std::to_string(c.planner_timeout_steps) +
         ", lost_expert_policy='" + lost_expert_policy_name(c.lost_expert_policy) + "')";
}

}  // namespace

void bind_balancer_config(nb::module_& m) {
  nb::class_<RecorderOptions>(m, "RecorderOptions",
                              "The load statistic fed to the planner: mode 'windowed' (sum of "
                              "the last window_steps steps) or 'decayed' (decay^age weights).")
      .def(
          "__init__",
          [](RecorderOptions* self, const std::string& mode, int window_steps, double decay) {
            new (self) RecorderOptions{recorder_mode_arg(mode), window_steps, decay};
          },
          nb::arg("mode") = "windowed", nb::arg("window_steps") = 1, nb::arg("decay") = 0.9)
      .def_prop_rw(
          "mode", [](const RecorderOptions& o) { return recorder_mode_name(o.mode); },
          [](RecorderOptions& o, const std::string& mode) { o.mode = recorder_mode_arg(mode); })
      .def_rw("window_steps", &RecorderOptions::window_steps)
      .def_rw("decay", &RecorderOptions::decay)
      .def("__repr__", [](const RecorderOptions& o) {
        return std::string("RecorderOptions(mode='") + recorder_mode_name(o.mode) +
               "', window_steps=" + std::to_string(o.window_steps) +
               ", decay=" + std::to_string(o.decay) + ")";
      });

  const BalancerConfig d;  // defaults
  nb::class_<BalancerConfig>(
      m, "BalancerConfig",
      "Configuration of the online balancer, with vllm-ascend's knob names (see "
      "include/eplb/runtime/balancer_config.h for each knob). Slots per layer = num_experts + "
      "num_redundant_experts, split evenly over num_ranks.")
      .def(
          "__init__",
          [](BalancerConfig* self, int num_layers, int num_experts, int num_ranks,
             int num_redundant_experts, int slots_per_rank, int num_nodes, int num_groups,
             const std::string& policy, const std::string& route_policy, const std::string& routing,
             bool dynamic_eplb, int expert_heat_collection_interval,
             int algorithm_execution_interval, int layer_updates_per_iter, int warmup_steps,
             const std::string& expert_map_path, const std::string& expert_map_record_path,
             int min_algorithm_execution_interval, const RecorderOptions* recorder,
             int transfer_timeout_steps, int64_t vote_timeout_ms, int planner_timeout_steps,
             const std::string& lost_expert_policy) {
            BalancerConfig c;
            c.num_layers = num_layers;
            c.num_experts = num_experts;
            c.num_ranks = num_ranks;
            c.num_redundant_experts = num_redundant_experts;
            c.slots_per_rank = slots_per_rank;
            c.num_nodes = num_nodes;
            c.num_groups = num_groups;
            c.policy = parse_policy(policy);
            c.route_policy = route_policy_arg(route_policy);
            c.routing = parse_routing(routing);
            c.dynamic_eplb = dynamic_eplb;
            c.expert_heat_collection_interval = expert_heat_collection_interval;
            c.algorithm_execution_interval = algorithm_execution_interval;
            c.layer_updates_per_iter = layer_updates_per_iter;
            c.warmup_steps = warmup_steps;
            c.expert_map_path = expert_map_path;
            c.expert_map_record_path = expert_map_record_path;
            c.min_algorithm_execution_interval = min_algorithm_execution_interval;
            if (recorder != nullptr) c.recorder = *recorder;
            c.transfer_timeout_steps = transfer_timeout_steps;
            c.vote_timeout = std::chrono::milliseconds(vote_timeout_ms);
            c.planner_timeout_steps = planner_timeout_steps;
            c.lost_expert_policy = parse_lost_expert_policy(lost_expert_policy);
            new (self) BalancerConfig(std::move(c));
          },
          nb::kw_only(), nb::arg("num_layers") = d.num_layers,
          nb::arg("num_experts") = d.num_experts, nb::arg("num_ranks") = d.num_ranks,
          nb::arg("num_redundant_experts") = d.num_redundant_experts,
          nb::arg("slots_per_rank") = d.slots_per_rank, nb::arg("num_nodes") = d.num_nodes,
          nb::arg("num_groups") = d.num_groups, nb::arg("policy") = policy_name(d.policy),
          nb::arg("route_policy") = route_policy_name(d.route_policy),
          nb::arg("routing") = routing_name(d.routing), nb::arg("dynamic_eplb") = d.dynamic_eplb,
          nb::arg("expert_heat_collection_interval") = d.expert_heat_collection_interval,
          nb::arg("algorithm_execution_interval") = d.algorithm_execution_interval,
          nb::arg("layer_updates_per_iter") = d.layer_updates_per_iter,
          nb::arg("warmup_steps") = d.warmup_steps, nb::arg("expert_map_path") = "",
          nb::arg("expert_map_record_path") = "",
          nb::arg("min_algorithm_execution_interval") = d.min_algorithm_execution_interval,
          nb::arg("recorder") = nb::none(),
          nb::arg("transfer_timeout_steps") = d.transfer_timeout_steps,
          nb::arg("vote_timeout_ms") = static_cast<int64_t>(d.vote_timeout.count()),
          nb::arg("planner_timeout_steps") = d.planner_timeout_steps,
          nb::arg("lost_expert_policy") = lost_expert_policy_name(d.lost_expert_policy),
          "Every field as a keyword; recorder None: RecorderOptions('windowed', 0, 0.9) "
          "(window 0: expert_heat_collection_interval). Not validated here: see validate().")
      .def_rw("num_layers", &BalancerConfig::num_layers)
      .def_rw("num_experts", &BalancerConfig::num_experts)
      .def_rw("num_ranks", &BalancerConfig::num_ranks)
      .def_rw("num_redundant_experts", &BalancerConfig::num_redundant_experts)
      .def_rw("slots_per_rank", &BalancerConfig::slots_per_rank)
      .def_rw("num_nodes", &BalancerConfig::num_nodes)
      .def_rw("num_groups", &BalancerConfig::num_groups)
      .def_prop_rw(
          "policy", [](const BalancerConfig& c) { return policy_name(c.policy); },
          [](BalancerConfig& c, const std::string& name) { c.policy = parse_policy(name); })
      .def_prop_rw(
          "route_policy", [](const BalancerConfig& c) { return route_policy_name(c.route_policy); },
          [](BalancerConfig& c, const std::string& name) {
            c.route_policy = route_policy_arg(name);
          })
      .def_prop_rw(
          "routing", [](const BalancerConfig& c) { return routing_name(c.routing); },
          [](BalancerConfig& c, const std::string& name) { c.routing = parse_routing(name); },
          "'even' or 'weighted': the planner also solves each replica's share of its expert's "
          "tokens, the placement carries them as routing_weight and route() follows them "
          "(needs route_policy 'weighted'); a re-plan may then change only shares, with no "
          "weight moved.")
      .def_rw("dynamic_eplb", &BalancerConfig::dynamic_eplb)
      .def_rw("expert_heat_collection_interval", &BalancerConfig::expert_heat_collection_interval)
      .def_rw("algorithm_execution_interval", &BalancerConfig::algorithm_execution_interval)
      .def_rw("layer_updates_per_iter", &BalancerConfig::layer_updates_per_iter)
      .def_rw("warmup_steps", &BalancerConfig::warmup_steps)
      .def_rw("expert_map_path", &BalancerConfig::expert_map_path)
      .def_rw("expert_map_record_path", &BalancerConfig::expert_map_record_path)
      .def_rw("min_algorithm_execution_interval", &BalancerConfig::min_algorithm_execution_interval)
      .def_rw("recorder", &BalancerConfig::recorder,
              "RecorderOptions, edited in place (config.recorder.window_steps = 50).")
      .def_rw("transfer_timeout_steps", &BalancerConfig::transfer_timeout_steps)
      .def_prop_rw(
          "vote_timeout_ms",
          [](const BalancerConfig& c) { return static_cast<int64_t>(c.vote_timeout.count()); },
          [](BalancerConfig& c, int64_t ms) { c.vote_timeout = std::chrono::milliseconds(ms); })
      .def_rw("planner_timeout_steps", &BalancerConfig::planner_timeout_steps,
              "Planner watchdog: a plan not ready on every rank by gather step + this many "
              "steps is abandoned for the cycle (placement kept, counted in planner_timeouts). "
              "0: no deadline; else >= algorithm_execution_interval.")
      .def_prop_rw(
          "lost_expert_policy",
          [](const BalancerConfig& c) { return lost_expert_policy_name(c.lost_expert_policy); },
          [](BalancerConfig& c, const std::string& name) {
            c.lost_expert_policy = parse_lost_expert_policy(name);
          },
          "What Balancer.mask_ranks does when a masked rank holds the last live replica of an "
          "expert: 'refuse' (eplb.Error naming the experts; nothing changes) or 'restore' "
          "(accepted: the expert's tokens go to slot -1, counted, until the next re-plan puts "
          "it on live ranks with its weights from the Balancer's load_expert callback).")
      .def_prop_ro("num_slots", &BalancerConfig::num_slots,
                   "num_experts + num_redundant_experts (physical slots per layer).")
      .def_prop_ro("resolved_slots_per_rank", &BalancerConfig::resolved_slots_per_rank,
                   "num_slots // num_ranks (0 while num_ranks is 0).")
      .def("validate", &validate_balancer_config,
           "Raises eplb.Error naming the knob for every inconsistent setting. Reads no file.")
      .def("initial_placement", &initial_placement,
           "validate(), then the Placement serving starts from: expert_map_path when set, else "
           "slot i holds expert i % num_experts; with routing 'weighted', even routing_weight.")
      .def("__repr__", &config_repr);
}

}  // namespace eplb::python
