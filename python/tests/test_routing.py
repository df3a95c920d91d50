"""count_expert_load(_decayed), ReplicaTable and route_tokens against numpy references, with
the array contract: in-place reads, conversions, and refusals as ValueError."""

import numpy as np
import pytest

import eplb


# ---- numpy reference -------------------------------------------------------------------------
def count(topk_ids: np.ndarray, num_experts: int) -> np.ndarray:
    ids = topk_ids.ravel()
    return np.bincount(ids[(ids >= 0) & (ids < num_experts)], minlength=num_experts)


def route_round_robin(topk_ids, phy2log, num_experts, seed=0, local_rank=None,
                      slots_per_rank=1) -> np.ndarray:
    """[num_tokens, k] logical ids -> physical slots: replica (token + k + seed) % r of the
    expert's ascending slots; with local_rank, its lowest slot on that rank when it has one."""
    out = np.full(topk_ids.shape, -1, dtype=np.int32)
    for t, row in enumerate(topk_ids):
        for j, e in enumerate(row):
            slots = np.flatnonzero(phy2log == e) if 0 <= e < num_experts else []
            if len(slots) == 0:
                continue
            local = [s for s in slots if s // slots_per_rank == local_rank]
            out[t, j] = local[0] if local else slots[(t + j + seed) % len(slots)]
    return out


PHY2LOG = np.array([0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 0, 2], dtype=np.int32)  # 4 ranks x 3 slots


@pytest.fixture
def table() -> eplb.ReplicaTable:
    return eplb.build_replica_table(PHY2LOG, num_experts=8, slots_per_rank=3)


@pytest.fixture
def topk(rng) -> np.ndarray:
    """[64 tokens, 2] int32 logical expert ids."""
    return rng.integers(0, 8, size=(64, 2)).astype(np.int32)


# ---- counting --------------------------------------------------------------------------------
def test_count_new_and_accumulated(topk):
    counts, ignored = eplb.count_expert_load(topk, 8)
    assert counts.dtype == np.int64 and ignored == 0
    np.testing.assert_array_equal(counts, count(topk, 8))
    same, _ = eplb.count_expert_load(topk, 8, counts)  # accumulates in place
    assert same is counts
    np.testing.assert_array_equal(counts, 2 * count(topk, 8))


def test_count_ignores_out_of_range_ids(topk):
    ids = topk.copy()
    ids[0] = [-1, 8]
    counts, ignored = eplb.count_expert_load(ids, 8)
    assert ignored == 2
    np.testing.assert_array_equal(counts, count(ids, 8))


@pytest.mark.parametrize("dtype", [np.int64, np.int16, np.uint8])
def test_count_other_integer_dtypes_and_layouts(topk, dtype):
    ids = topk.astype(dtype)
    np.testing.assert_array_equal(eplb.count_expert_load(ids, 8)[0], count(topk, 8))
    strided = ids[:, :1]  # non-contiguous view: converted
    np.testing.assert_array_equal(eplb.count_expert_load(strided, 8)[0], count(topk[:, :1], 8))
    np.testing.assert_array_equal(eplb.count_expert_load(ids.T, 8)[0], count(topk, 8))
    np.testing.assert_array_equal(eplb.count_expert_load(ids.tolist(), 8)[0], count(topk, 8))


def test_count_decayed(topk):
    counts, _ = eplb.count_expert_load_decayed(topk, 8, 0.5)
    assert counts.dtype == np.float64
    np.testing.assert_array_equal(counts, count(topk, 8))
    eplb.count_expert_load_decayed(topk[:10], 8, 0.5, counts)
    np.testing.assert_array_equal(counts, count(topk, 8) * 0.5 + count(topk[:10], 8))
    with pytest.raises(eplb.Error, match="decay=-1.0+ must be finite and >= 0"):
        eplb.count_expert_load_decayed(topk, 8, -1.0)


def test_count_refuses_bad_arrays(topk):
    with pytest.raises(ValueError, match="topk_ids: expected integer ids .* got float32"):
        eplb.count_expert_load(topk.astype(np.float32), 8)
    with pytest.raises(ValueError, match="counts: expected a writable, C-contiguous int64 array "
                                         r"of shape \(8,\) .* got int32"):
        eplb.count_expert_load(topk, 8, np.zeros(8, dtype=np.int32))
    with pytest.raises(ValueError, match=r"got shape \(9,\)"):
        eplb.count_expert_load(topk, 8, np.zeros(9, dtype=np.int64))
    with pytest.raises(ValueError, match="got a non-contiguous array"):
        eplb.count_expert_load(topk, 8, np.zeros(16, dtype=np.int64)[::2])
    read_only = np.zeros(8, dtype=np.int64)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="got a read-only array"):
        eplb.count_expert_load(topk, 8, read_only)
    with pytest.raises(ValueError, match="counts: expected .* got list"):
        eplb.count_expert_load(topk, 8, [0] * 8)
    with pytest.raises(eplb.Error, match="num_experts=-1 is negative"):
        eplb.count_expert_load(topk, -1)
    with pytest.raises(ValueError, match="topk_ids: expected an array"):
        eplb.count_expert_load(object(), 8)


# ---- replica table and routing ---------------------------------------------------------------
def test_replica_table(table):
    assert (table.num_experts, table.num_slots, table.slots_per_rank) == (8, 12, 3)
    np.testing.assert_array_equal(table.offset, np.r_[0, np.cumsum(np.bincount(PHY2LOG))])
    np.testing.assert_array_equal(table.slot, np.argsort(PHY2LOG, kind="stable"))
    assert table.replica_count(0) == 3 and table.slot_rank(11) == 3
    assert table.cum_weight.dtype == np.float32 and table.cum_weight[2] == 1.0
    with pytest.raises(ValueError, match="expert_idx 8 out of range"):
        table.replica_count(8)
    with pytest.raises(eplb.Error, match="build_replica_table"):
        eplb.build_replica_table(PHY2LOG, num_experts=8, slots_per_rank=5)


@pytest.mark.parametrize("seed", [0, 3])
def test_round_robin_matches_numpy(table, topk, seed):
    got = eplb.route_tokens(topk, table, seed=seed)
    assert got.dtype == np.int32 and got.shape == topk.shape
    np.testing.assert_array_equal(got, route_round_robin(topk, PHY2LOG, 8, seed=seed))
    assert (PHY2LOG[got] == topk).all()


def test_local_first_matches_numpy(table, topk):
    got = eplb.route_tokens(topk, table, policy="local_first", local_rank=3)
    want = route_round_robin(topk, PHY2LOG, 8, local_rank=3, slots_per_rank=3)
    np.testing.assert_array_equal(got, want)


def test_weighted_follows_routing_weight(rng):
    weight = np.ones(12)
    weight[[0, 8, 10]] = [0.6, 0.3, 0.1]
    table = eplb.build_replica_table(PHY2LOG, 8, 3, routing_weight=weight)
    ids = np.zeros((20000, 1), dtype=np.int32)
    slots = eplb.route_tokens(ids, table, policy="weighted", seed=7)
    share = np.bincount(slots.ravel(), minlength=12)[[0, 8, 10]] / len(ids)
    np.testing.assert_allclose(share, [0.6, 0.3, 0.1], atol=0.02)


def test_route_out_param_conversions_and_unknown_ids(table, topk):
    out = np.empty_like(topk)
    assert eplb.route_tokens(topk, table, out=out) is out
    np.testing.assert_array_equal(out, route_round_robin(topk, PHY2LOG, 8))
    ids = topk.astype(np.int64)
    ids[0, 0] = -1
    ids[1, 1] = 2**40  # out of int32: routed to -1 like any unknown id
    got = eplb.route_tokens(ids, table)
    assert got[0, 0] == -1 and got[1, 1] == -1
    wide = np.repeat(topk, 2, axis=1)[:, ::2]  # strided view
    np.testing.assert_array_equal(eplb.route_tokens(wide, table), route_round_robin(topk, PHY2LOG, 8))
    no_replica = eplb.build_replica_table(np.r_[PHY2LOG[:7], [-1], PHY2LOG[8:]], 8, 3)
    assert (eplb.route_tokens(np.full((2, 1), 7, np.int32), no_replica) == -1).all()


def test_route_refuses_bad_arrays(table, topk):
    with pytest.raises(ValueError, match=r"topk_ids: expected a 2-D array, got shape \(128,\)"):
        eplb.route_tokens(topk.ravel(), table)
    with pytest.raises(ValueError, match="topk_ids: expected integer ids"):
        eplb.route_tokens(topk.astype(np.float64), table)
    with pytest.raises(ValueError, match="out: .* got int64"):
        eplb.route_tokens(topk, table, out=np.empty(topk.shape, dtype=np.int64))
    with pytest.raises(ValueError, match="out: .* got a non-contiguous array"):
        eplb.route_tokens(topk, table, out=np.empty(topk.shape[::-1], dtype=np.int32).T)
    with pytest.raises(eplb.Error, match="policy nearest: unknown route policy"):
        eplb.route_tokens(topk, table, policy="nearest")
    with pytest.raises(eplb.Error, match="k"):
        eplb.route_tokens(np.empty((4, 0), dtype=np.int32), table)


def test_placement_replica_table(toy_loads):
    p = eplb.plan(toy_loads, num_ranks=4, num_slots=12)
    t = p.replica_table(1)
    np.testing.assert_array_equal(t.slot, np.argsort(p.phy2log[1], kind="stable"))
    with pytest.raises(ValueError, match="layer_idx 2 out of range"):
        p.replica_table(2)
