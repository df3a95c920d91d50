"""eplb.plan: shapes, invariants, replica counts and errors."""

import numpy as np
import pytest

import eplb


# ---- numpy reference -------------------------------------------------------------------------
def greedy_replica_counts(loads: np.ndarray, num_slots: int) -> np.ndarray:
    """DeepSeek EPLB's replicate step for one layer: give each extra slot to the logical expert
    with the largest load per replica. [num_experts] -> [num_experts] replica counts."""
    counts = np.ones(len(loads), dtype=np.int64)
    for _ in range(num_slots - len(loads)):
        counts[np.argmax(loads / counts)] += 1
    return counts


def peak_to_avg(loads: np.ndarray, phy2log: np.ndarray, num_ranks: int) -> float:
    """max/mean rank load of one layer, replicas splitting their expert's tokens evenly."""
    counts = np.bincount(phy2log, minlength=len(loads))
    per_slot = loads[phy2log] / counts[phy2log]
    ranks = per_slot.reshape(num_ranks, -1).sum(axis=1)
    return ranks.max() / ranks.mean()


# ---- tests -----------------------------------------------------------------------------------
def test_plan_shapes_and_invariants(toy_loads):
    p = eplb.plan(toy_loads, num_ranks=4, num_slots=12)
    assert (p.num_layers, p.num_experts, p.num_ranks, p.num_slots) == (2, 8, 4, 12)
    assert p.slots_per_rank == 3
    assert p.layer_ids == [0, 1]
    assert p.phy2log.shape == (2, 12) and p.phy2log.dtype == np.int32
    assert p.routing_weight is None
    assert p.replica_count.shape == (2, 8)
    for layer in range(2):
        counts = np.bincount(p.phy2log[layer], minlength=8)
        np.testing.assert_array_equal(p.replica_count[layer], counts)
        assert counts.min() >= 1 and counts.sum() == 12
    assert eplb.check_placement(p) == []


def test_log2phy_matches_phy2log(toy_loads):
    p = eplb.plan(toy_loads, num_ranks=4, num_slots=12)
    log2phy = p.log2phy
    assert log2phy.shape[:2] == (2, 8) and log2phy.dtype == np.int32
    assert log2phy.shape[2] == p.replica_count.max()
    for layer in range(2):
        for expert in range(8):
            row = log2phy[layer, expert]
            slots = row[row >= 0]
            np.testing.assert_array_equal(slots, np.flatnonzero(p.phy2log[layer] == expert))
            assert (row[len(slots):] == -1).all()


@pytest.mark.parametrize("policy", ["deepseek", "balanced"])
def test_replica_counts_minimise_the_hottest_replica(rng, policy):
    loads = rng.uniform(1.0, 1000.0, size=(3, 16))  # distinct values: no ties
    p = eplb.plan(loads, num_ranks=4, num_slots=24, policy=policy)
    for layer in range(3):
        reference = greedy_replica_counts(loads[layer], 24)
        got = p.replica_count[layer]
        if policy == "deepseek":
            np.testing.assert_array_equal(got, reference)
        # Any min-max replication reaches the greedy's hottest replica load.
        assert (loads[layer] / got).max() == pytest.approx((loads[layer] / reference).max())


def test_plan_balances_better_than_contiguous(toy_loads):
    p = eplb.plan(toy_loads, num_ranks=4, num_slots=12)
    default = eplb.Placement.contiguous(2, 8, 4, 12)
    before = peak_to_avg(toy_loads[0], default.phy2log[0], 4)
    after = peak_to_avg(toy_loads[0], p.phy2log[0], 4)
    assert after < before


def test_plan_accepts_integer_lists_and_load_matrix(toy_loads):
    from_list = eplb.plan(toy_loads.astype(np.int64).tolist(), num_ranks=4, num_slots=12)
    matrix = eplb.LoadMatrix(toy_loads, layer_ids=[3, 4])
    from_matrix = eplb.plan(matrix, num_ranks=4, num_slots=12)
    assert from_matrix.layer_ids == [3, 4]
    np.testing.assert_array_equal(from_list.phy2log, from_matrix.phy2log)
    with_ids = eplb.plan(toy_loads, num_ranks=4, num_slots=12, layer_ids=[3, 4])
    assert with_ids == from_matrix


def test_plan_non_contiguous_and_float32_loads_are_converted(toy_loads):
    wide = np.repeat(toy_loads.astype(np.float32), 2, axis=1)[:, ::2]  # strided float32 view
    assert not wide.flags.c_contiguous
    a = eplb.plan(wide, num_ranks=4, num_slots=12)
    b = eplb.plan(np.asfortranarray(toy_loads), num_ranks=4, num_slots=12)
    c = eplb.plan(toy_loads, num_ranks=4, num_slots=12)
    np.testing.assert_array_equal(a.phy2log, c.phy2log)
    np.testing.assert_array_equal(b.phy2log, c.phy2log)


def test_plan_with_current_starts_from_it(toy_loads):
    first = eplb.plan(toy_loads, num_ranks=4, num_slots=12)
    again = eplb.plan(toy_loads, num_ranks=4, num_slots=12, current=first)
    assert eplb.count_moved_slots(first, again) <= 24
    assert again.phy2log.shape == first.phy2log.shape


def test_weighted_routing_shares_sum_to_one_per_expert(toy_loads):
    p = eplb.plan(toy_loads, num_ranks=4, num_slots=12, routing="weighted")
    assert p.routing_weight is not None and p.routing_weight.shape == (2, 12)
    assert (p.routing_weight >= 0).all()
    for layer in range(2):
        sums = np.bincount(p.phy2log[layer], weights=p.routing_weight[layer], minlength=8)
        np.testing.assert_allclose(sums, np.ones(8), atol=1e-9)
    assert eplb.plan(toy_loads, num_ranks=4, num_slots=12).routing_weight is None


def test_max_moves_bounds_moved_slots_per_layer(toy_loads):
    first = eplb.plan(toy_loads, num_ranks=4, num_slots=12)
    shifted = np.roll(toy_loads, 3, axis=1)  # the hot experts move
    again = eplb.plan(shifted, num_ranks=4, num_slots=12, current=first, max_moves=2)
    assert ((again.phy2log != first.phy2log).sum(axis=1) <= 2).all()


def test_zero_layer_keeps_default(toy_loads):
    loads = toy_loads.copy()
    loads[1] = 0
    p = eplb.plan(loads, num_ranks=4, num_slots=12)
    np.testing.assert_array_equal(p.phy2log[1], np.arange(12) % 8)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_ranks=5, num_slots=12), "--slots 12 is not divisible by --ranks 5"),
        (dict(num_ranks=4, num_slots=4), "fewer than the 8 logical experts"),
        (dict(num_ranks=4, num_slots=12, policy="best"), "--policy best: unknown policy"),
        (dict(num_ranks=4, num_slots=12, num_groups=3), "--groups 3 does not divide"),
        (dict(num_ranks=4, num_slots=12, num_nodes=3), "--ranks 4 is not divisible by --nodes 3"),
        (dict(num_ranks=4, num_slots=12, routing="uneven"), "--routing uneven"),
        (dict(num_ranks=4, num_slots=12, topology="loose"), "--topology loose"),
    ],
)
def test_bad_options_raise_cli_messages(toy_loads, kwargs, message):
    with pytest.raises(eplb.Error, match=message):
        eplb.plan(toy_loads, **kwargs)
    assert issubclass(eplb.Error, ValueError)


def test_bad_loads_raise_value_error(toy_loads):
    with pytest.raises(ValueError, match="loads: expected a 2-D array, got shape \\(8,\\)"):
        eplb.plan(toy_loads[0], num_ranks=4, num_slots=12)
    with pytest.raises(ValueError, match="not a finite non-negative"):
        eplb.plan(-toy_loads, num_ranks=4, num_slots=12)
    with pytest.raises(ValueError, match="not a finite non-negative"):
        eplb.plan(np.full((2, 8), np.nan), num_ranks=4, num_slots=12)
    with pytest.raises(ValueError, match="expected real numbers"):
        eplb.plan(np.ones((2, 8), dtype=bool), num_ranks=4, num_slots=12)
    with pytest.raises(ValueError, match="expected an array"):
        eplb.plan([[1, 2], [3]], num_ranks=4, num_slots=12)
    with pytest.raises(ValueError, match="layer_ids: 3 ids for 2 layers"):
        eplb.plan(toy_loads, num_ranks=4, num_slots=12, layer_ids=[0, 1, 2])
    with pytest.raises(TypeError):
        eplb.plan(toy_loads, 4, 12)  # num_ranks and num_slots are keyword-only


def test_current_of_another_shape_is_refused(toy_loads):
    other = eplb.Placement.contiguous(2, 8, 2, 12)
    with pytest.raises(eplb.Error, match="--current: placement has 2 ranks but --ranks is 4"):
        eplb.plan(toy_loads, num_ranks=4, num_slots=12, current=other)
