"""The toy world of the balancer tests, driven the same way by threads (InProcessWorld) and by
processes (pipe_comm.PipeCommunicator):

  2 MoE layers x 8 logical experts on 4 ranks x 3 slots (12 slots: 4 redundant experts);
  every rank routes the same tokens every step: TRAFFIC[layer, expert] tokens (k = 2), layer 0
  skewed towards experts 0 and 1, layer 1 nearly flat; the weights of expert e of layer l are
  16 float32 = pattern(l, e), so a slot's bytes tell which expert it holds.

Cycle: collection interval 4, algorithm interval 2, one layer moved per step, no warm-up.
"""

from __future__ import annotations

import numpy as np
import pytest

import eplb

NUM_LAYERS, NUM_EXPERTS, NUM_RANKS, SLOTS_PER_RANK, K = 2, 8, 4, 3, 2
FLOATS_PER_EXPERT = 16
TRAFFIC = np.array([[40, 20, 6, 4, 3, 3, 2, 2], [12, 10, 11, 9, 8, 10, 9, 11]])
SWITCH_EVENTS = ("plan_taken", "layer_committed", "layer_failed", "cycle_ended")


def peak_to_avg(loads: np.ndarray, phy2log: np.ndarray, num_ranks: int) -> np.ndarray:
    """numpy reference: max/mean rank load per layer, loads [layers, experts] split evenly over
    replicas of phy2log [layers, slots]."""
    ratios = []
    for load, row in zip(loads, phy2log):
        replicas = np.bincount(row, minlength=load.size)
        rank_load = (load[row] / replicas[row]).reshape(num_ranks, -1).sum(axis=1)
        ratios.append(rank_load.max() / rank_load.mean())
    return np.array(ratios)


def topk_ids(layer_idx: int) -> np.ndarray:
    """[40, 2] int32 logical expert ids of one rank's step."""
    ids = np.repeat(np.arange(NUM_EXPERTS, dtype=np.int32), TRAFFIC[layer_idx])
    return ids.reshape(-1, K)


def pattern(layer_idx: int, expert_idx: int) -> np.ndarray:
    """[FLOATS_PER_EXPERT] float32 weights of expert expert_idx of layer layer_idx."""
    return (np.arange(FLOATS_PER_EXPERT) + 1000 * int(layer_idx) + 100 * int(expert_idx)).astype(
        np.float32)


def config(**overrides) -> eplb.BalancerConfig:
    fields = dict(num_layers=NUM_LAYERS, num_experts=NUM_EXPERTS, num_ranks=NUM_RANKS,
                  num_redundant_experts=NUM_RANKS * SLOTS_PER_RANK - NUM_EXPERTS,
                  expert_heat_collection_interval=4, algorithm_execution_interval=2,
                  layer_updates_per_iter=1, vote_timeout_ms=30000)
    fields.update(overrides)
    return eplb.BalancerConfig(**fields)


def fill_store(store: eplb.HostWeightStore, phy2log: np.ndarray, rank: int):
    for layer in range(NUM_LAYERS):
        for i in range(SLOTS_PER_RANK):
            expert = phy2log[layer, rank * SLOTS_PER_RANK + i]
            store.slot_bytes(layer, i)[:] = pattern(layer, expert).view(np.uint8)


def check_store(store: eplb.HostWeightStore, phy2log: np.ndarray, rank: int, step: int):
    for layer in range(NUM_LAYERS):
        for i in range(SLOTS_PER_RANK):
            expert = phy2log[layer, rank * SLOTS_PER_RANK + i]
            got = store.slot_bytes(layer, i).view(np.float32)
            if not np.array_equal(got, pattern(layer, expert)):
                raise AssertionError(f"rank {rank} step {step}: layer {layer} local slot {i} "
                                     f"should hold expert {expert}, holds {got[:2]}...")


def check_rebalanced(results):
    """Every rank switched the same layers at the same steps to the same placements, and the
    first cycle's metrics agree with the numpy reference."""
    first = results[0]
    assert [r["rank"] for r in results] == list(range(NUM_RANKS))
    assert first["first_cycle"] is not None, "no cycle ended"
    assert first["metrics"]["rebalances"] >= 1
    assert any(kind == "layer_committed" for kind, _, _ in first["events"])
    for r in results[1:]:
        assert r["events"] == first["events"]
        np.testing.assert_array_equal(r["after_first_cycle"], first["after_first_cycle"])
        np.testing.assert_array_equal(r["final"], first["final"])
    cycle, placed = first["first_cycle"], first["after_first_cycle"]
    assert not np.array_equal(placed, first["initial"])
    before = peak_to_avg(TRAFFIC, first["initial"], NUM_RANKS)
    after = peak_to_avg(TRAFFIC, placed, NUM_RANKS)
    assert cycle["imbalance_before_mean"] == pytest.approx(before.mean())
    assert cycle["imbalance_before_max"] == pytest.approx(before.max())
    assert cycle["imbalance_after_mean"] == pytest.approx(after.mean())
    assert cycle["imbalance_after_mean"] < cycle["imbalance_before_mean"]
    assert cycle["layers_committed"] == cycle["layers_changed"] > 0
    # Every slot whose expert changed was copied (locally or from a peer).
    changed = int((placed != first["initial"]).sum())
    assert cycle["moved_experts"] == changed
    assert 0 < cycle["bytes_moved"] <= changed * FLOATS_PER_EXPERT * 4


def run_rank(comm, steps: int, **config_overrides) -> dict:
    """Serves `steps` steps on this rank, checking at every step that the store holds the
    committed placement's weights and that route() follows it. Returns the placements (initial,
    after the first cycle, final, and its routing_weight or None), the switch events, the log, the metrics of the first ended
    cycle and the final metrics."""
    events, log = [], []
    store = eplb.HostWeightStore(NUM_LAYERS, SLOTS_PER_RANK, FLOATS_PER_EXPERT * 4)
    balancer = eplb.Balancer(config(**config_overrides), comm, store,
                             log=lambda level, message: log.append((level, message)),
                             on_event=lambda e: events.append((e.kind, e.step, e.layer_idx)))
    rank = balancer.rank
    initial = balancer.placement.phy2log.copy()
    fill_store(store, initial, rank)
    first_cycle = after_first_cycle = None
    for step in range(steps):
        balancer.before_forward(step)
        phy2log = balancer.placement.phy2log
        check_store(store, phy2log, rank, step)
        if first_cycle is None and balancer.metrics()["cycles"] == 1:
            first_cycle, after_first_cycle = balancer.metrics()["last_cycle"], phy2log.copy()
        for layer in range(NUM_LAYERS):
            ids = topk_ids(layer)
            balancer.recorder.record_topk(layer, ids)
            slots = balancer.route(layer, ids)
            if not np.array_equal(phy2log[layer][slots], ids):
                raise AssertionError(f"rank {rank} step {step} layer {layer}: route() left the "
                                     "committed placement")
        balancer.after_forward(step)
        balancer.wait_planner_idle()  # the planner is never late: steps are deterministic
    weight = balancer.placement.routing_weight
    return {"rank": rank, "initial": initial, "final": balancer.placement.phy2log.copy(),
            "final_weight": None if weight is None else weight.copy(),
            "events": [e for e in events if e[0] in SWITCH_EVENTS], "log": log,
            "first_cycle": first_cycle, "after_first_cycle": after_first_cycle,
            "metrics": balancer.metrics(),
            "phase": balancer.phase, "prometheus": balancer.prometheus_text()}
