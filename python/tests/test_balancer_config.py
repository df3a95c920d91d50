"""eplb.BalancerConfig and eplb.RecorderOptions: fields under their C++ names, enums as strings,
and validation errors carrying the core's message (eplb.Error, a ValueError).

numpy reference of the slot arithmetic: slots per layer = num_experts + num_redundant_experts,
split evenly over num_ranks, e.g. 8 experts + 4 redundant on 4 ranks -> 12 slots, 3 per rank;
rank r holds slots [3r, 3r + 3).
"""

import numpy as np
import pytest

import eplb


def reference_slots(num_experts, num_redundant, num_ranks):
    slots = np.arange(num_experts + num_redundant)
    return slots.size, slots.reshape(num_ranks, -1).shape[1]


def toy(**overrides):
    fields = dict(num_layers=2, num_experts=8, num_ranks=4, num_redundant_experts=4)
    fields.update(overrides)
    return eplb.BalancerConfig(**fields)


def test_defaults_are_the_cpp_defaults():
    c = eplb.BalancerConfig()
    assert (c.num_layers, c.num_experts, c.num_ranks) == (0, 0, 0)
    assert c.policy == "balanced" and c.route_policy == "round_robin"
    assert c.routing == "even"
    assert c.dynamic_eplb is True
    assert c.expert_heat_collection_interval == 400
    assert c.algorithm_execution_interval == 30
    assert c.layer_updates_per_iter == 1 and c.warmup_steps == 0
    assert c.expert_map_path == "" and c.expert_map_record_path == ""
    assert c.min_algorithm_execution_interval == 1
    assert (c.recorder.mode, c.recorder.window_steps, c.recorder.decay) == ("windowed", 0, 0.9)
    assert c.transfer_timeout_steps == 1000 and c.vote_timeout_ms == 60000


def test_fields_round_trip_and_slot_arithmetic():
    c = toy(policy="greedy", route_policy="local_first", warmup_steps=5,
            recorder=eplb.RecorderOptions("decayed", decay=0.5), vote_timeout_ms=1500)
    assert (c.policy, c.route_policy, c.warmup_steps, c.vote_timeout_ms) == (
        "greedy", "local_first", 5, 1500)
    assert (c.recorder.mode, c.recorder.decay) == ("decayed", 0.5)
    assert (c.num_slots, c.resolved_slots_per_rank) == reference_slots(8, 4, 4)
    c.recorder.window_steps = 7  # edited in place
    c.recorder.mode = "windowed"
    assert (c.recorder.mode, c.recorder.window_steps) == ("windowed", 7)
    c.layer_updates_per_iter = 2
    assert c.layer_updates_per_iter == 2
    c.validate()
    assert c.initial_placement().phy2log.shape == (2, 12)


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(num_layers=0), "BalancerConfig: num_layers 0 must be >= 1"),
        (dict(num_redundant_experts=3), "num_redundant_experts 3 does not fit the slots: 8 "
                                        r"experts \+ 3 redundant = 11 slots cannot be split evenly over num_ranks 4"),
        (dict(num_redundant_experts=-1), "num_redundant_experts -1 must be >= 0"),
        (dict(slots_per_rank=4), "slots_per_rank 4 x num_ranks 4 = 16 slots"),
        (dict(algorithm_execution_interval=0), "algorithm_execution_interval 0 must be >= 1"),
        (dict(algorithm_execution_interval=2, min_algorithm_execution_interval=5),
         "algorithm_execution_interval 2 is shorter than the planner needs"),
        (dict(expert_heat_collection_interval=0), "expert_heat_collection_interval 0"),
        (dict(vote_timeout_ms=0), "vote_timeout 0 ms must be > 0"),
        (dict(routing="weighted"), "routing weighted needs route_policy weighted"),
        (dict(recorder=eplb.RecorderOptions("decayed", decay=1.5)),
         r"recorder.decay 1.5\d* must be in \[0, 1\]"),
    ],
)
def test_validate_names_the_knob(overrides, message):
    config = toy(**overrides)
    with pytest.raises(eplb.Error, match=message):
        config.validate()
    # The Balancer validates the same way before it touches the communicator.
    with pytest.raises(ValueError, match=message):
        eplb.Balancer(config, eplb.InProcessWorld(4).communicator(0))


def test_unknown_enum_names_are_refused():
    with pytest.raises(eplb.Error, match="fastest"):
        toy(policy="fastest")
    with pytest.raises(eplb.Error, match="policy nearest: unknown route policy"):
        toy(route_policy="nearest")
    with pytest.raises(eplb.Error, match="mode sliding: unknown recorder mode"):
        eplb.RecorderOptions("sliding")
    c = toy()
    with pytest.raises(eplb.Error):
        c.policy = "fastest"
    assert c.policy == "balanced"


def test_weighted_routing_starts_from_even_shares():
    c = toy(routing="weighted", route_policy="weighted")
    assert "routing='weighted'" in repr(c)
    c.validate()
    p = c.initial_placement()
    # numpy reference: 1 / (replicas of each slot's expert) in the default deployment.
    counts = np.array([np.bincount(row, minlength=8) for row in p.phy2log])
    want = 1.0 / np.take_along_axis(counts, p.phy2log.astype(np.int64), axis=1)
    np.testing.assert_array_equal(p.routing_weight, want)
    c.routing = "even"
    assert c.initial_placement().routing_weight is None
    with pytest.raises(eplb.Error, match="routing"):
        c.routing = "uneven"


def test_missing_expert_map_is_an_error_naming_the_knob(tmp_path):
    config = toy(expert_map_path=str(tmp_path / "missing.json"))
    with pytest.raises(eplb.Error, match="expert_map_path"):
        config.initial_placement()


def test_expert_map_path_sets_the_initial_placement(tmp_path):
    phy2log = np.array([[7, 6, 5, 4, 3, 2, 1, 0, 0, 1, 2, 3]] * 2, dtype=np.int32)
    path = tmp_path / "map.json"
    eplb.Placement(phy2log, num_ranks=4).save(path, format="ascend")
    config = toy(expert_map_path=str(path))
    balancer = eplb.Balancer(config, eplb.InProcessWorld(4).communicator(1))
    np.testing.assert_array_equal(balancer.placement.phy2log, phy2log)
    # Rank 1 holds slots 3..5 = experts 4, 3, 2 of the map.
    assert balancer.replica_table(0).replica_count(4) == 1
