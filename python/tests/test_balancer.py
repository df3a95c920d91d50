"""eplb.Balancer: the online runtime on the toy world of balancer_world.py (2 layers x 8 experts
on 4 ranks x 3 slots, fixed skewed traffic), ranks as threads of one process (InProcessWorld)
and as processes (a Python Communicator over pipes).

numpy reference (balancer_world.peak_to_avg): the max/mean rank load of a layer, each expert's
load split evenly over its replicas, e.g. the initial placement phy2log[0] =
[0 1 2 | 3 4 5 | 6 7 0 | 1 2 3] under layer 0's loads [40 20 6 4 3 3 2 2] (experts 0-3 have
two replicas each) gives rank loads [20+10+3, 2+3+3, 2+2+20, 10+3+2] = [33, 8, 24, 15] ->
33 / 20 = 1.65.
"""

import multiprocessing
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import balancer_world as world
import eplb
from pipe_comm import PipeCommunicator, make_pipes


def test_reference_peak_to_avg_matches_the_docstring():
    phy2log = np.array([[0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3]])
    loads = np.array([[40, 20, 6, 4, 3, 3, 2, 2]], dtype=float)
    assert world.peak_to_avg(loads, phy2log, 4) == pytest.approx([33 / 20])


def run_threads(comms, steps, **overrides):
    with ThreadPoolExecutor(len(comms)) as pool:
        futures = [pool.submit(world.run_rank, c, steps, **overrides) for c in comms]
        return [f.result() for f in futures]


def test_threads_rebalance_move_weights_and_route_by_the_committed_placement():
    # run_rank checks at every step that each store slot holds the bytes of the committed
    # placement's expert and that route() only picks slots holding the token's expert.
    in_process = eplb.InProcessWorld(world.NUM_RANKS)
    comms = [in_process.communicator(r) for r in range(world.NUM_RANKS)]
    results = run_threads(comms, steps=20)
    world.check_rebalanced(results)
    assert comms[0].backend_name() == "in_process"
    assert 'rank="2"' in results[2]["prometheus"]


def test_threads_route_by_planned_shares_with_weighted_routing():
    in_process = eplb.InProcessWorld(world.NUM_RANKS)
    comms = [in_process.communicator(r) for r in range(world.NUM_RANKS)]
    results = run_threads(comms, steps=20, routing="weighted", route_policy="weighted")
    first = results[0]
    assert first["metrics"]["rebalances"] >= 1
    weight = first["final_weight"]
    assert weight is not None and weight.shape == first["final"].shape
    for r in results[1:]:
        np.testing.assert_array_equal(r["final"], first["final"])
        np.testing.assert_array_equal(r["final_weight"], weight)
    # numpy reference: each expert's shares sum to 1 and put every rank at the mean load, where
    # an even split of the same placement leaves the hottest rank 10% above it.
    for layer in range(world.NUM_LAYERS):
        sums = np.bincount(first["final"][layer], weights=weight[layer],
                           minlength=world.NUM_EXPERTS)
        np.testing.assert_allclose(sums, 1.0)
        load = world.TRAFFIC[layer][first["final"][layer]] * weight[layer]
        rank_load = load.reshape(world.NUM_RANKS, -1).sum(axis=1)
        assert rank_load.max() / rank_load.mean() == pytest.approx(1.0)
    even = world.peak_to_avg(world.TRAFFIC[:1], first["final"][:1], world.NUM_RANKS)[0]
    assert even > 1.05


def test_python_communicator_in_threads():
    pipes = make_pipes(world.NUM_RANKS)
    comms = [PipeCommunicator(r, pipes[r]) for r in range(world.NUM_RANKS)]
    try:
        world.check_rebalanced(run_threads(comms, steps=20))
    finally:
        for c in comms:
            c.close()


def _process_main(rank, conns, steps, queue):
    comm = PipeCommunicator(rank, conns)
    try:
        queue.put(world.run_rank(comm, steps))
    except BaseException as e:  # noqa: BLE001 - reported to the parent with the rank
        queue.put({"rank": rank, "error": repr(e)})
    finally:
        comm.close()


def test_processes_rebalance_through_a_python_communicator():
    ctx = multiprocessing.get_context("spawn")
    pipes = make_pipes(world.NUM_RANKS, ctx)
    queue = ctx.Queue()
    procs = [ctx.Process(target=_process_main, args=(r, pipes[r], 20, queue))
             for r in range(world.NUM_RANKS)]
    for p in procs:
        p.start()
    for conns in pipes:
        for conn in conns.values():
            conn.close()  # the children hold their own ends
    results = sorted((queue.get(timeout=120) for _ in procs), key=lambda r: r["rank"])
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    errors = [r["error"] for r in results if "error" in r]
    assert not errors, errors
    world.check_rebalanced(results)


class FailingExchange(PipeCommunicator):
    """Rank 0's exchange() raises: its layer transfers fail."""

    def exchange(self, sends, recvs):
        if self.rank() == 0:
            raise RuntimeError("injected transport fault")
        return super().exchange(sends, recvs)


def test_python_exchange_exception_fails_the_layer_and_keeps_the_old_weights():
    pipes = make_pipes(world.NUM_RANKS)
    comms = [FailingExchange(r, pipes[r]) for r in range(world.NUM_RANKS)]
    try:
        results = run_threads(comms, steps=20, transfer_timeout_steps=3)
    finally:
        for c in comms:
            c.close()
    for r in results:
        # run_rank checked the weights every step: the old ones stayed with the old map.
        np.testing.assert_array_equal(r["final"], r["initial"])
        assert r["metrics"]["transfer_failures"] >= 1
        assert r["metrics"]["rebalances"] == 0
        assert any(kind == "layer_failed" for kind, _, _ in r["events"])
    assert results[1]["events"] == results[0]["events"]
    messages = [m for level, m in results[0]["log"] if level in ("warning", "error")]
    assert any("injected transport fault" in m for m in messages), results[0]["log"]


def test_callback_exception_is_raised_after_the_hook_completes():
    comm = eplb.InProcessWorld(1).communicator(0)
    seen = []

    def on_event(event):
        seen.append(event.kind)
        if event.kind == "gather_started" and seen.count("gather_started") == 1:
            raise KeyError("from on_event")

    cfg = eplb.BalancerConfig(num_layers=1, num_experts=4, num_ranks=1,
                              expert_heat_collection_interval=1, algorithm_execution_interval=1)
    balancer = eplb.Balancer(cfg, comm, on_event=on_event)
    balancer.before_forward(0)
    with pytest.raises(KeyError, match="from on_event"):
        balancer.after_forward(0)
    assert seen == ["gather_started"]
    assert balancer.metrics()["steps"] == 1  # the hook ran to its end
    balancer.before_forward(1)  # and the balancer is still in order
    balancer.after_forward(1)
    assert balancer.metrics()["steps"] == 2 and len(seen) > 1  # events still delivered


def test_static_balancer_keeps_the_initial_placement():
    comm = eplb.InProcessWorld(1).communicator(0)
    cfg = eplb.BalancerConfig(num_layers=2, num_experts=4, num_ranks=1, num_redundant_experts=2,
                              dynamic_eplb=False)
    balancer = eplb.Balancer(cfg, comm)
    assert balancer.phase == "static"
    for step in range(3):
        balancer.before_forward(step)
        balancer.recorder.record_topk(0, np.zeros((5, 1), np.int32))
        balancer.after_forward(step)
    np.testing.assert_array_equal(balancer.placement.phy2log, [[0, 1, 2, 3, 0, 1]] * 2)
    assert balancer.metrics()["steps"] == 3 and balancer.metrics()["cycles"] == 0
    assert balancer.recorder.snapshot().values[0, 0] == 15


def test_hooks_out_of_order_raise():
    balancer = eplb.Balancer(world.config(num_ranks=1, num_redundant_experts=4),
                             eplb.InProcessWorld(1).communicator(0))
    with pytest.raises(eplb.Error, match=r"after_forward\(0\): before_forward was not called"):
        balancer.after_forward(0)
    balancer.before_forward(0)
    with pytest.raises(eplb.Error, match="after_forward"):
        balancer.before_forward(1)


def one_rank_balancer(route_policy="round_robin"):
    cfg = world.config(num_ranks=1, num_redundant_experts=4, route_policy=route_policy)
    return eplb.Balancer(cfg, eplb.InProcessWorld(1).communicator(0))


def test_route_follows_replicas_round_robin():
    balancer = one_rank_balancer()
    ids = world.topk_ids(0)
    slots = balancer.route(0, ids)
    assert slots.dtype == np.int32 and slots.shape == ids.shape
    phy2log = balancer.placement.phy2log[0]
    np.testing.assert_array_equal(phy2log[slots], ids)
    # Expert 0 has replicas in slots 0 and 8: round robin uses both.
    assert set(slots[ids == 0].tolist()) == {0, 8}
    table = balancer.replica_table(0)
    np.testing.assert_array_equal(
        slots, eplb.route_tokens(ids, table, policy="round_robin", local_rank=0))


def test_route_converts_other_integer_layouts_and_refuses_the_rest():
    balancer = one_rank_balancer()
    ids = world.topk_ids(1)
    expected = balancer.route(1, ids)
    wide = np.asfortranarray(ids.astype(np.int64))  # int64, not C-contiguous: converted
    np.testing.assert_array_equal(balancer.route(1, wide), expected)
    np.testing.assert_array_equal(balancer.route(1, ids.tolist()), expected)
    out = np.full(ids.shape, -7, np.int32)
    assert balancer.route(1, ids, out=out) is out
    np.testing.assert_array_equal(out, expected)
    with pytest.raises(ValueError, match="topk_ids: expected integer ids"):
        balancer.route(1, ids.astype(np.float32))
    with pytest.raises(ValueError, match="topk_ids: expected a 2-D array, got shape \\(40,\\)"):
        balancer.route(1, ids[:, 0].copy())
    with pytest.raises(ValueError, match="out: expected a writable, C-contiguous int32 array "
                                         "of shape \\(20, 2\\)"):
        balancer.route(1, ids[:20], out=np.zeros((20, 2), np.int64))
    with pytest.raises(ValueError, match="out: .*got a non-contiguous array"):
        balancer.route(1, ids, out=np.zeros((2, 40), np.int32).T)
    with pytest.raises(eplb.Error, match="layer 2 out of range \\[0, 2\\)"):
        balancer.route(2, ids)
    with pytest.raises(ValueError, match="k = 0"):
        balancer.route(0, np.zeros((3, 0), np.int32))


def test_recorder_is_the_balancers_and_accepts_any_integer_ids():
    balancer = one_rank_balancer()
    recorder = balancer.recorder
    assert (recorder.num_layers, recorder.num_experts) == (2, 8)
    assert recorder.window_steps == 4  # window 0: the collection interval
    balancer.before_forward(0)
    recorder.record_topk(0, np.array([[1, 2]], np.uint8))
    recorder.record_topk(0, np.array([[1, 9]], np.int64))  # 9: out of range, ignored
    np.testing.assert_array_equal(balancer.recorder.snapshot().values[0],
                                  [0, 2, 1, 0, 0, 0, 0, 0])
    with pytest.raises(ValueError, match="expected integer ids"):
        recorder.record_topk(0, np.array([[1.0]]))
    balancer.after_forward(0)
    assert recorder.num_closed_steps == 1
