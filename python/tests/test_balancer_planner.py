"""eplb.Balancer(..., plan_layer=fn): a Python planner run on the balancer's worker thread, on the
toy world of balancer_world.py (2 layers x 8 experts on 4 ranks x 3 slots, ranks as threads of
one process over InProcessWorld).

numpy reference (greedy_row below): every expert gets one slot, each of the num_slots -
num_experts extra slots goes to the expert with the highest load per replica (lowest id on a
tie), and the row lists the experts in id order, each repeated by its replica count. Layer 0's
traffic [40 20 6 4 3 3 2 2] on 12 slots: 40/1 -> 0, 40/2 = 20 vs 20/1 -> 0 (tie, lowest id),
40/3 = 13.3 vs 20 -> 1, 13.3 vs 10 -> 0: replicas [4 2 1 1 1 1 1 1], row
[0 0 0 0 1 1 2 3 4 5 6 7]. The loads the balancer gathers are the traffic times ranks times
steps, which changes no comparison.
"""

import os
import subprocess
import sys
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import balancer_world as world
import eplb

NUM_SLOTS = world.NUM_RANKS * world.SLOTS_PER_RANK


def greedy_row(loads: np.ndarray, num_slots: int) -> np.ndarray:
    """numpy reference planner: [num_slots] int64 row for loads [num_experts]."""
    replicas = np.ones(loads.size, dtype=np.int64)
    for _ in range(num_slots - loads.size):
        replicas[int(np.argmax(loads / replicas))] += 1
    return np.repeat(np.arange(loads.size), replicas)


def test_reference_greedy_row_matches_the_docstring():
    np.testing.assert_array_equal(greedy_row(world.TRAFFIC[0].astype(float), 12),
                                  [0, 0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7])
    np.testing.assert_array_equal(greedy_row(world.TRAFFIC[0] * 48.0, 12),
                                  greedy_row(world.TRAFFIC[0].astype(float), 12))


def serve(comm, steps: int, plan_layer) -> dict:
    """One rank serving `steps` steps with a store; checks every step that the slots hold the
    committed placement's weights and that route() follows it."""
    log, events = [], []
    store = eplb.HostWeightStore(world.NUM_LAYERS, world.SLOTS_PER_RANK,
                                 world.FLOATS_PER_EXPERT * 4)
    balancer = eplb.Balancer(world.config(), comm, store,
                             log=lambda level, message: log.append((level, message)),
                             on_event=lambda e: events.append(e.kind), plan_layer=plan_layer)
    rank = balancer.rank
    initial = balancer.placement.phy2log.copy()
    world.fill_store(store, initial, rank)
    for step in range(steps):
        balancer.before_forward(step)
        phy2log = balancer.placement.phy2log
        world.check_store(store, phy2log, rank, step)
        for layer in range(world.NUM_LAYERS):
            ids = world.topk_ids(layer)
            balancer.recorder.record_topk(layer, ids)
            slots = balancer.route(layer, ids)
            assert np.array_equal(phy2log[layer][slots], ids)
        balancer.after_forward(step)
        balancer.wait_planner_idle()
    return {"rank": rank, "thread": threading.get_ident(), "initial": initial,
            "final": balancer.placement.phy2log.copy(), "log": log, "events": events,
            "metrics": balancer.metrics()}


def run_ranks(plan_layer, steps: int = 12) -> list:
    in_process = eplb.InProcessWorld(world.NUM_RANKS)
    comms = [in_process.communicator(r) for r in range(world.NUM_RANKS)]
    with ThreadPoolExecutor(world.NUM_RANKS) as pool:
        futures = [pool.submit(serve, c, steps, plan_layer) for c in comms]
        return [f.result(timeout=120) for f in futures]


def test_python_greedy_planner_gives_the_committed_placement_on_every_rank():
    calls = []

    def greedy(layer, expert_loads, current_phy2log):
        calls.append((threading.get_ident(), layer, expert_loads.dtype, expert_loads.shape,
                      expert_loads.flags.writeable, current_phy2log.dtype,
                      current_phy2log.shape, current_phy2log.flags.writeable,
                      expert_loads / expert_loads.sum()))
        return greedy_row(expert_loads, current_phy2log.size)

    results = run_ranks(greedy, steps=20)
    expected = np.stack([greedy_row(t.astype(float), NUM_SLOTS) for t in world.TRAFFIC])
    assert not np.array_equal(expected, results[0]["initial"])
    for r in results:
        np.testing.assert_array_equal(r["final"], expected, err_msg=f"rank {r['rank']}")
        assert r["metrics"]["planner_failures"] == 0
        assert r["metrics"]["rebalances"] >= 1
        assert "layer_committed" in r["events"]
    # Called for both layers on every rank's worker, never on a serving thread, with read-only
    # float64 [8] loads proportional to the traffic and the int32 [12] deployed row.
    assert {c[1] for c in calls} == {0, 1}
    assert len({c[0] for c in calls}) >= world.NUM_RANKS
    assert not {c[0] for c in calls} & {r["thread"] for r in results}
    for _, layer, ldtype, lshape, lw, cdtype, cshape, cw, share in calls:
        assert (ldtype, lshape, lw) == (np.float64, (world.NUM_EXPERTS,), False)
        assert (cdtype, cshape, cw) == (np.int32, (NUM_SLOTS,), False)
        np.testing.assert_allclose(share, world.TRAFFIC[layer] / world.TRAFFIC[layer].sum())


def test_a_planner_of_four_arguments_is_told_the_masked_ranks():
    told = []

    def around_masked(layer, expert_loads, current_phy2log, masked_ranks):
        told.append(list(masked_ranks))
        placement = eplb.plan(expert_loads[None, :], num_ranks=world.NUM_RANKS,
                              num_slots=current_phy2log.size, excluded_ranks=masked_ranks)
        return placement.phy2log[0]

    def serve_masked(comm) -> dict:
        balancer = eplb.Balancer(world.config(), comm, plan_layer=around_masked)
        balancer.mask_ranks([3])  # rank 3 holds experts 1-3, which rank 0 holds too
        for step in range(12):
            balancer.before_forward(step)
            for layer in range(world.NUM_LAYERS):
                balancer.recorder.record_topk(layer, world.topk_ids(layer))
            balancer.after_forward(step)
            balancer.wait_planner_idle()
        return balancer.metrics()

    in_process = eplb.InProcessWorld(world.NUM_RANKS)
    with ThreadPoolExecutor(world.NUM_RANKS) as pool:
        futures = [pool.submit(serve_masked, in_process.communicator(r))
                   for r in range(world.NUM_RANKS)]
        metrics = [f.result(timeout=120) for f in futures]
    assert told and all(t == [3] for t in told)
    for m in metrics:
        assert m["planner_failures"] == 0
        assert m["rebalances"] >= 1


def test_hottest_takes_the_coldest_slot_planner_in_list_form():
    # numpy reference: the first slot of the least loaded expert among those with a spare
    # replica goes to the hottest expert; applied to the initial rows once (the planner keeps
    # returning the same row afterwards since it recomputes from the initial row it saw first).
    def swap_row(loads, row):
        row = np.array(row, dtype=np.int64)
        counts = np.bincount(row, minlength=loads.size)
        spare = [e for e in range(loads.size) if counts[e] > 1 and e != int(np.argmax(loads))]
        coldest = min(spare, key=lambda e: (loads[e], e))
        row[int(np.flatnonzero(row == coldest)[0])] = int(np.argmax(loads))
        return row

    first_rows = {}
    lock = threading.Lock()

    def planner(layer, expert_loads, current_phy2log):
        with lock:
            first_rows.setdefault(layer, np.array(current_phy2log))
        return swap_row(expert_loads, first_rows[layer]).tolist()  # a list is fine too

    results = run_ranks(planner, steps=20)
    initial = results[0]["initial"]
    expected = np.stack([swap_row(world.TRAFFIC[l].astype(float), initial[l])
                         for l in range(world.NUM_LAYERS)])
    assert not np.array_equal(expected, initial)
    for r in results:
        np.testing.assert_array_equal(r["final"], expected, err_msg=f"rank {r['rank']}")
        assert r["metrics"]["planner_failures"] == 0


def check_planner_failed(results, *fragments):
    """Every rank counted and logged a planner failure and served on with the old placement;
    some rank's log names the error. (A rank logs its own planner's error when its plan had
    failed by the vote; one whose plan was still pending logs "planner failed on rank R". The
    lowest failing rank always logs its own.)"""
    errors = []
    for r in results:
        assert r["metrics"]["planner_failures"] >= 1, r["log"]
        assert r["metrics"]["rebalances"] == 0
        assert "plan_failed" in r["events"]
        np.testing.assert_array_equal(r["final"], r["initial"])  # serving went on, old placement
        mine = [m for level, m in r["log"] if level == "error"]
        assert any("planning failed, keeping the current placement" in m for m in mine), mine
        errors += mine
    assert any(all(f in m for f in fragments) for m in errors), (fragments, errors)


def test_raising_planner_is_a_planner_failure_and_serving_goes_on():
    def planner(layer, expert_loads, current_phy2log):
        if layer == 1:
            raise ValueError("no plan for this layer")
        return current_phy2log

    results = run_ranks(planner, steps=14)
    check_planner_failed(results, "planning failed, keeping the current placement",
                         "layer 1: plan_layer raised ValueError: no plan for this layer")
    # The next cycle retried: more than one failure over 14 steps (gathers at 3 and 7 and 11).
    assert results[0]["metrics"]["planner_failures"] >= 2


@pytest.mark.parametrize("result, message", [
    (lambda cur: np.zeros(5, dtype=np.int32),
     "plan_layer returned an array of shape (5,), expected (12,) = [num_slots]"),
    (lambda cur: np.zeros((2, 6), dtype=np.int64),
     "plan_layer returned an array of shape (2, 6), expected (12,) = [num_slots]"),
    (lambda cur: np.where(np.arange(12) == 3, 8, cur),
     "plan_layer returned phy2log[3] = 8, not a logical expert id in [0, 8)"),
    (lambda cur: np.where(np.arange(12) == 0, -1, cur),
     "plan_layer returned phy2log[0] = -1, not a logical expert id in [0, 8)"),
    (lambda cur: np.concatenate([np.array([2**40], dtype=np.int64), cur[1:]]),
     "plan_layer returned phy2log[0] = 1099511627776, not a logical expert id in [0, 8)"),
    (lambda cur: cur.astype(np.float64),
     "plan_layer's result: expected integer ids (int32 or int64), got float64"),
    (lambda cur: None, "plan_layer's result: expected an array of numbers"),
    # Valid ids, but expert 7 has no slot: refused by the balancer's own row check.
    (lambda cur: np.minimum(cur, 6), "planned placement has no slot for expert 7"),
])
def test_bad_planner_result_is_a_planner_failure_with_a_clear_message(result, message):
    results = run_ranks(lambda layer, loads, cur: result(cur), steps=8)
    check_planner_failed(results, "planner: layer 0: ", message)


def test_exception_with_a_raising_str_is_still_a_planner_failure():
    class Odd(Exception):
        def __str__(self):
            raise RuntimeError("no str")

    def planner(layer, expert_loads, current_phy2log):
        raise Odd()

    check_planner_failed(run_ranks(planner, steps=8), "planner: layer 0: ",
                         "plan_layer raised test_balancer_planner.Odd: (its str() raised)")


def test_non_callable_plan_layer_is_refused():
    with pytest.raises(TypeError, match="plan_layer: expected a callable"):
        eplb.Balancer(world.config(), eplb.InProcessWorld(world.NUM_RANKS).communicator(0),
                      plan_layer=42)


# Run in a child process: a deadlock there is killed by the timeout instead of hanging pytest
# (a thread stuck waiting for the GIL cannot be timed out from inside the process).
DELETE_WHILE_PLANNING = textwrap.dedent("""
    import threading, time
    import numpy as np
    import eplb

    started, deleting, calls = threading.Event(), threading.Event(), []

    def slow(layer, expert_loads, current_phy2log):
        calls.append(layer)
        started.set()
        assert deleting.wait(30)
        time.sleep(0.3)  # the main thread enters the destructor meanwhile
        end = time.monotonic() + 0.2
        while time.monotonic() < end:  # busy: needs the GIL the destructor must release
            sum(range(1000))
        print("planner returned", flush=True)
        return current_phy2log

    config = eplb.BalancerConfig(num_layers=2, num_experts=8, num_ranks=1,
                                 num_redundant_experts=4, expert_heat_collection_interval=2,
                                 algorithm_execution_interval=2)
    balancer = eplb.Balancer(config, eplb.InProcessWorld(1).communicator(0), plan_layer=slow)
    ids = np.arange(16, dtype=np.int32).reshape(-1, 2) % 8
    step = 0
    while not started.is_set():
        assert step < 10000, "the planner never started"
        balancer.before_forward(step)
        for layer in range(2):
            balancer.recorder.record_topk(layer, ids)
        balancer.after_forward(step)
        step += 1
        started.wait(0.001)
    deleting.set()
    del balancer  # joins the worker while it runs (or waits for the GIL inside) the planner
    print("deleted, calls", calls, flush=True)
""")


def test_deleting_the_balancer_while_a_slow_python_planner_runs_does_not_deadlock():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    try:
        done = subprocess.run([sys.executable, "-c", DELETE_WHILE_PLANNING], env=env,
                              capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"deadlock: `del balancer` did not return within 60 s (stdout {e.stdout!r})")
    assert done.returncode == 0, done.stderr
    # The running call finished before the destructor returned; layer 1 was never planned.
    assert done.stdout.splitlines() == ["planner returned", "deleted, calls [0]"], done.stdout
