"""eplb.report, rank_loads, contiguous_rank_loads against a numpy reference."""

import numpy as np
import pytest

import eplb


# ---- numpy reference -------------------------------------------------------------------------
def contiguous_rank_loads(loads: np.ndarray, num_ranks: int) -> np.ndarray:
    """[num_experts] -> [num_ranks]: expert e on rank e * num_ranks // num_experts."""
    rank_of_expert = np.arange(len(loads)) * num_ranks // len(loads)
    return np.bincount(rank_of_expert, weights=loads, minlength=num_ranks)


def placed_rank_loads(loads, phy2log, num_ranks, routing_weight=None) -> np.ndarray:
    """[num_experts], [num_slots] -> [num_ranks]; replicas split evenly unless weighted."""
    if routing_weight is None:
        routing_weight = 1.0 / np.bincount(phy2log, minlength=len(loads))[phy2log]
    return (loads[phy2log] * routing_weight).reshape(num_ranks, -1).sum(axis=1)


def balance(rank_loads: np.ndarray) -> dict:
    mean, peak = rank_loads.mean(), rank_loads.max()
    return dict(mean=mean, std=rank_loads.std(), max=peak, imbalance=peak / mean - 1,
                peak_to_avg=peak / mean)


def check_layer(got: dict, want: dict):
    assert got["has_data"] is True
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-12), key


# ---- tests -----------------------------------------------------------------------------------
def test_contiguous_report_matches_numpy(toy_loads):
    r = eplb.report(toy_loads, num_ranks=4)
    assert (r["num_layers"], r["num_experts"], r["num_ranks"]) == (2, 8, 4)
    assert r["num_layers_with_data"] == 2
    assert [layer["layer"] for layer in r["layers"]] == [0, 1]
    wants = [balance(contiguous_rank_loads(row, 4)) for row in toy_loads]
    for got, want in zip(r["layers"], wants):
        check_layer(got, want)
    for key in ("mean", "std", "max", "imbalance", "peak_to_avg"):
        assert r["average"][key] == pytest.approx(np.mean([w[key] for w in wants]))
    assert r["max_peak_to_avg"] == pytest.approx(max(w["peak_to_avg"] for w in wants))


def test_report_under_placement_matches_numpy(toy_loads):
    p = eplb.plan(toy_loads, num_ranks=4, num_slots=12)
    r = eplb.report(toy_loads, p)
    assert r["num_ranks"] == 4
    for layer in range(2):
        want = balance(placed_rank_loads(toy_loads[layer], p.phy2log[layer], 4))
        check_layer(r["layers"][layer], want)


def test_report_with_routing_weight(toy_loads):
    phy2log = np.tile(np.r_[np.arange(8), [0, 0, 1, 1]], (2, 1))
    weight = np.ones((2, 12))
    weight[:, [0, 8, 9]] = [0.5, 0.25, 0.25]
    weight[:, [1, 10, 11]] = [0.2, 0.4, 0.4]
    p = eplb.Placement(phy2log, num_ranks=4, routing_weight=weight)
    r = eplb.report(toy_loads, p)
    for layer in range(2):
        want = balance(placed_rank_loads(toy_loads[layer], phy2log[layer], 4, weight[layer]))
        check_layer(r["layers"][layer], want)


def test_layer_without_data(toy_loads):
    loads = toy_loads.copy()
    loads[0] = 0
    r = eplb.report(loads, num_ranks=4, layer_ids=[3, 4])
    assert r["num_layers_with_data"] == 1
    assert r["layers"][0] == dict(layer=3, has_data=False, mean=None, std=None, max=None,
                                  imbalance=None, peak_to_avg=None)
    assert r["average"]["mean"] == pytest.approx(loads[1].sum() / 4)
    empty = eplb.report(np.zeros((1, 8)), num_ranks=4)
    assert empty["average"]["has_data"] is False and empty["max_peak_to_avg"] is None


def test_rank_loads_functions(toy_loads):
    np.testing.assert_allclose(eplb.contiguous_rank_loads(toy_loads[0], 4),
                               contiguous_rank_loads(toy_loads[0], 4))
    phy2log = np.r_[np.arange(8), [0, 0, 1, 1]]
    np.testing.assert_allclose(eplb.rank_loads(toy_loads[0], phy2log, 4),
                               placed_rank_loads(toy_loads[0], phy2log, 4))
    with pytest.raises(eplb.Error, match=r"phy2log\[2\]: expert 9 out of range \[0, 8\)"):
        eplb.rank_loads(toy_loads[0], [0, 1, 9, 2], 2)
    with pytest.raises(eplb.Error, match="cannot be split over 5 ranks"):
        eplb.rank_loads(toy_loads[0], phy2log, 5)


def test_report_errors(toy_loads):
    with pytest.raises(eplb.Error, match="--ranks is required without --placement"):
        eplb.report(toy_loads)
    p = eplb.Placement.contiguous(2, 8, 4, 12)
    with pytest.raises(eplb.Error, match="--ranks 2: the placement has 4 ranks"):
        eplb.report(toy_loads, p, num_ranks=2)
    with pytest.raises(eplb.Error, match="placement has 16 experts but the loads have 8"):
        eplb.report(toy_loads, eplb.Placement.contiguous(2, 16, 4, 16))
    with pytest.raises(ValueError, match="expected a 2-D array"):
        eplb.report(np.ones((2, 2, 2)), num_ranks=2)
