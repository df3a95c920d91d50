"""eplb.plan(..., excluded_ranks=...): planning over the live ranks only.

numpy reference (below): with 4 ranks x 3 slots, excluding rank r leaves the slots
[0, 12) minus [3r, 3r + 3) live. Over the live slots of phy2log, every expert that has a live
slot must get routing weights summing to 1 there, excluded slots get weight 0, and the experts
with no live slot are uncovered; with fewer live slots than experts the least loaded experts are
the ones left out, e.g. 8 experts with loads [80 70 60 50 40 30 20 10] on 6 live slots (ranks 0
and 2 excluded) leave experts 6 and 7 uncovered.
"""

import numpy as np
import pytest

import eplb

RANKS, SLOTS = 4, 12
SPR = SLOTS // RANKS


def live_mask(num_slots: int, slots_per_rank: int, excluded) -> np.ndarray:
    """[num_slots] bool: the slot lives on a rank not in `excluded`."""
    return ~np.isin(np.arange(num_slots) // slots_per_rank, list(excluded))


def uncovered_reference(phy2log: np.ndarray, live: np.ndarray, num_experts: int) -> list:
    """[num_layers] lists of the experts with no live slot, ascending."""
    return [sorted(set(range(num_experts)) - set(row[live].tolist())) for row in phy2log]


def weight_per_expert(row: np.ndarray, weight: np.ndarray, live: np.ndarray,
                      num_experts: int) -> np.ndarray:
    """[num_experts] sum of the live slots' routing weights of each expert."""
    return np.bincount(row[live], weights=weight[live], minlength=num_experts)


def test_reference_matches_the_docstring():
    live = live_mask(SLOTS, SPR, [0, 2])
    assert live.tolist() == [False] * 3 + [True] * 3 + [False] * 3 + [True] * 3
    row = np.array([[7, 6, 5, 0, 1, 2, 4, 3, 7, 3, 4, 5]])
    assert uncovered_reference(row, live, 8) == [[6, 7]]


@pytest.fixture
def loads():
    rng = np.random.default_rng(7)
    values = rng.integers(1, 1000, size=(3, 8)).astype(float)
    values[1] = [80, 70, 60, 50, 40, 30, 20, 10]
    return values


@pytest.mark.parametrize("excluded", [[1], (3,), np.array([0], dtype=np.int64), range(2, 3)])
@pytest.mark.parametrize("policy", ["balanced", "deepseek", "greedy"])
def test_excluded_slots_get_no_routing_weight(loads, excluded, policy):
    placement, report = eplb.plan(loads, num_ranks=RANKS, num_slots=SLOTS, policy=policy,
                                  excluded_ranks=excluded, return_report=True)
    live = live_mask(SLOTS, SPR, list(excluded))
    weight = placement.routing_weight
    assert weight is not None, "routing_weight must be set with excluded_ranks"
    assert weight.shape == (3, SLOTS)
    np.testing.assert_array_equal(weight[:, ~live], 0.0)
    for row, w in zip(placement.phy2log, weight):
        # 9 live slots for 8 experts: every expert has a live slot with all its tokens there.
        np.testing.assert_allclose(weight_per_expert(row, w, live, 8), 1.0)
    assert uncovered_reference(placement.phy2log, live, 8) == [[], [], []]
    assert [layer["uncovered_experts"] for layer in report["layers"]] == [[], [], []]
    assert report["layers_uncovered"] == 0
    # Routing never picks an excluded slot.
    log2phy = placement.log2phy
    assert not np.isin(log2phy[log2phy >= 0] // SPR, list(excluded)).any()
    for layer_idx in range(3):
        ids = np.arange(8, dtype=np.int32).repeat(4).reshape(-1, 2)
        slots = eplb.route_tokens(ids, placement.replica_table(layer_idx))
        assert (slots >= 0).all()
        assert not np.isin(slots // SPR, list(excluded)).any()


def test_too_few_live_slots_report_the_least_loaded_experts_uncovered(loads):
    placement, report = eplb.plan(loads, num_ranks=RANKS, num_slots=SLOTS,
                                  excluded_ranks=[0, 2], return_report=True)
    live = live_mask(SLOTS, SPR, [0, 2])
    expected = uncovered_reference(placement.phy2log, live, 8)
    assert [layer["uncovered_experts"] for layer in report["layers"]] == expected
    assert all(len(u) == 2 for u in expected)  # 6 live slots for 8 experts
    assert expected[1] == [6, 7]  # the two least loaded of layer 1
    for u, row in zip(expected, loads):
        assert sorted(np.argsort(row, kind="stable")[:2].tolist()) == u
    assert report["layers_uncovered"] == 3
    np.testing.assert_array_equal(placement.routing_weight[:, ~live], 0.0)
    for row, w, u in zip(placement.phy2log, placement.routing_weight, expected):
        per_expert = weight_per_expert(row, w, live, 8)
        covered = np.setdiff1d(np.arange(8), u)
        np.testing.assert_allclose(per_expert[covered], 1.0)
        np.testing.assert_array_equal(per_expert[u], 0.0)


def test_report_has_every_layer_and_no_exclusion_means_no_weight(loads):
    placement, report = eplb.plan(loads, num_ranks=RANKS, num_slots=SLOTS, return_report=True,
                                  layer_ids=[5, 6, 9])
    assert placement.routing_weight is None
    assert [layer["layer"] for layer in report["layers"]] == [5, 6, 9]
    assert all(layer["has_data"] for layer in report["layers"])
    assert all(layer["max_over_mean"] >= layer["lower_bound"] > 0 for layer in report["layers"])
    assert report["layers_uncovered"] == 0 and report["warnings"] == []
    # Without return_report the result is the Placement alone, and the same placement.
    assert eplb.plan(loads, num_ranks=RANKS, num_slots=SLOTS, layer_ids=[5, 6, 9]) == placement


@pytest.mark.parametrize("excluded, error, message", [
    ([4], eplb.Error, "--exclude-ranks: rank 4 out of range [0, 4)"),
    ([-1], eplb.Error, "--exclude-ranks: rank -1 out of range"),
    ([1, 1], eplb.Error, "--exclude-ranks: rank 1 is listed twice"),
    ([0, 1, 2, 3], eplb.Error, "--exclude-ranks excludes all 4"),
    ([1.5], ValueError, "excluded_ranks: expected an iterable of ints, got the item 1.5"),
    ("1", ValueError, "excluded_ranks: expected an iterable of ints, got '1'"),
    (3, ValueError, "excluded_ranks: expected an iterable of ints, got 3"),
    ([True], ValueError, "excluded_ranks: expected an iterable of ints, got the item True"),
    ([2**40], ValueError, "excluded_ranks: 1099511627776 is outside the int32 range"),
])
def test_bad_excluded_ranks_raise_naming_the_value(loads, excluded, error, message):
    with pytest.raises(error) as info:
        eplb.plan(loads, num_ranks=RANKS, num_slots=SLOTS, excluded_ranks=excluded)
    assert message in str(info.value)
