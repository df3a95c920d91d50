"""eplb.Balancer with lost ranks: mask_ranks / unmask_ranks, lost_expert_policy, load_expert (a
callable or an eplb.HostExpertCopy), and the planner watchdog (planner_timeout_steps), on the toy
world of balancer_world.py (2 layers x 8 experts on 4 ranks x 3 slots; rank r holds slots
[3r, 3r + 3)).

numpy reference (lost_reference below): an expert is lost when none of its slots lives on an
unmasked rank. The initial placement of both layers is [0 1 2 | 3 4 5 | 6 7 0 | 1 2 3]: masking
rank 3 loses nothing (1, 2, 3 have replicas on ranks 0 and 1), masking rank 1 loses experts 4
and 5 in both layers, masking ranks 1 and 3 loses 3, 4 and 5, masking ranks 1 and 2 loses 4, 5,
6 and 7. Tokens of lost experts are routed to slot -1: with world.TRAFFIC, a step of one rank
drops TRAFFIC[l, 4] + TRAFFIC[l, 5] entries of layer l while rank 1 is masked (3 + 3 and
8 + 10).
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import balancer_world as world
import eplb

SPR = world.SLOTS_PER_RANK
INITIAL_ROW = np.array([0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3])


def lost_reference(phy2log: np.ndarray, masked) -> list:
    """[num_layers] lists of the experts of phy2log [num_layers, num_slots] without a slot on
    a rank outside `masked`, ascending."""
    live = ~np.isin(np.arange(phy2log.shape[1]) // SPR, list(masked))
    return [sorted(set(range(world.NUM_EXPERTS)) - set(row[live].tolist())) for row in phy2log]


def dropped_reference(lost: list) -> int:
    """Routing entries one rank's step drops: the tokens of the lost experts of every layer."""
    return int(sum(world.TRAFFIC[layer, experts].sum() for layer, experts in enumerate(lost)))


def test_reference_matches_the_docstring():
    initial = np.stack([INITIAL_ROW, INITIAL_ROW])
    assert lost_reference(initial, [3]) == [[], []]
    assert lost_reference(initial, [1]) == [[4, 5], [4, 5]]
    assert lost_reference(initial, [1, 3]) == [[3, 4, 5], [3, 4, 5]]
    assert lost_reference(initial, [1, 2]) == [[4, 5, 6, 7], [4, 5, 6, 7]]
    assert dropped_reference([[4, 5], [4, 5]]) == 3 + 3 + 8 + 10


def run_rank_masked(comm, steps: int, schedule: dict, fail_first_load: bool = False,
                    host_copy: int = 0, **overrides) -> dict:
    """Serves `steps` steps; after after_forward(t), for t in `schedule`, calls
    getattr(balancer, op)(ranks) for each (op, ranks) of schedule[t]. Checks every step that
    the store holds the committed placement's weights, that route() sends each token to a slot
    holding its expert and never to a masked rank, and that exactly the lost experts' tokens go
    to slot -1. load_expert writes world.pattern(layer, expert) (raising instead, once, with
    fail_first_load). host_copy > 0: load_expert is an eplb.HostExpertCopy of host_copy bytes
    per expert holding the patterns (as far as they fit)."""
    # What the callback reads is copied here before each hook: a callback that referenced the
    # balancer would make a reference cycle through it that Python's GC cannot break.
    state = {"step": -1, "lost": None, "masked": None}
    loads, events, log, hook_errors, after_op = [], [], [], [], {}

    def load_expert(layer, expert, dst):
        assert isinstance(dst, np.ndarray) and dst.dtype == np.uint8
        assert dst.shape == (world.FLOATS_PER_EXPERT * 4,) and dst.flags.writeable
        # Zero-copy: dst is one of the store's staging buffers.
        assert any(np.shares_memory(dst, store.staging_bytes(area, i))
                   for area in range(store.num_staging_areas) for i in range(SPR))
        loads.append((state["step"], layer, expert, state["lost"][layer], state["masked"]))
        if fail_first_load and len(loads) == 1:
            raise RuntimeError(f"injected load failure for expert {expert}")
        dst[:] = world.pattern(layer, expert).view(np.uint8)

    store = eplb.HostWeightStore(world.NUM_LAYERS, SPR, world.FLOATS_PER_EXPERT * 4)
    loader = load_expert
    if host_copy:
        loader = eplb.HostExpertCopy(world.NUM_LAYERS, world.NUM_EXPERTS, host_copy)
        for layer in range(world.NUM_LAYERS):
            for expert in range(world.NUM_EXPERTS):
                weights = world.pattern(layer, expert).view(np.uint8)[:host_copy]
                loader.expert_bytes(layer, expert)[:] = weights
    balancer = eplb.Balancer(world.config(**overrides), comm, store,
                             log=lambda level, message: log.append((level, message)),
                             on_event=lambda e: events.append((e.kind, e.step, e.layer_idx)),
                             load_expert=loader)
    rank = balancer.rank
    world.fill_store(store, balancer.placement.phy2log, rank)
    dropped = dropped_expected = 0
    ranks_used = []  # per step: the ranks route() sent tokens to
    for step in range(steps):
        state.update(step=step, lost=balancer.lost_experts, masked=balancer.masked_ranks)
        try:
            balancer.before_forward(step)
        except RuntimeError as e:  # a raising load_expert: re-raised after the hook completed
            hook_errors.append((step, str(e)))
        phy2log = balancer.placement.phy2log
        world.check_store(store, phy2log, rank, step)
        masked = balancer.masked_ranks
        lost = balancer.lost_experts
        assert lost == lost_reference(phy2log, masked), (rank, step)
        dropped_expected += dropped_reference(lost)
        used = set()
        for layer in range(world.NUM_LAYERS):
            ids = world.topk_ids(layer)
            balancer.recorder.record_topk(layer, ids)
            slots = balancer.route(layer, ids)
            served = slots >= 0
            np.testing.assert_array_equal(~served, np.isin(ids, lost[layer]))
            np.testing.assert_array_equal(phy2log[layer][slots[served]], ids[served])
            on_masked = np.isin(slots[served] // SPR, masked)
            assert not on_masked.any(), f"rank {rank} step {step}: a slot on masked {masked}"
            dropped += int((~served).sum())
            used.update((slots[served] // SPR).tolist())
        ranks_used.append(sorted(used))
        balancer.after_forward(step)
        balancer.wait_planner_idle()
        for op, ranks in schedule.get(step, []):
            getattr(balancer, op)(ranks)
            after_op[step] = {"masked": balancer.masked_ranks, "lost": balancer.lost_experts,
                              "metrics": balancer.metrics()}
    return {"rank": rank, "loads": loads, "events": events, "log": log, "dropped": dropped,
            "dropped_expected": dropped_expected,
            "ranks_used": ranks_used, "hook_errors": hook_errors, "after_op": after_op,
            "final": balancer.placement.phy2log.copy(), "metrics": balancer.metrics(),
            "masked": balancer.masked_ranks, "lost": balancer.lost_experts,
            "prometheus": balancer.prometheus_text()}


def run_threads(steps, schedule, **kwargs):
    world_ = eplb.InProcessWorld(world.NUM_RANKS)
    comms = [world_.communicator(r) for r in range(world.NUM_RANKS)]
    with ThreadPoolExecutor(world.NUM_RANKS) as pool:
        futures = [pool.submit(run_rank_masked, c, steps, schedule, **kwargs) for c in comms]
        return [f.result() for f in futures]


def check_agree(results):
    first = results[0]
    for r in results[1:]:
        np.testing.assert_array_equal(r["final"], first["final"])
        switches = [e for e in r["events"] if e[0] in world.SWITCH_EVENTS]
        assert switches == [e for e in first["events"] if e[0] in world.SWITCH_EVENTS]


def test_masked_rank_gets_no_tokens_then_unmask_returns_it():
    # Refuse policy, rank 3 holds no last replica: accepted on every rank after af(5), returned
    # after af(17).
    schedule = {5: [("mask_ranks", [3])], 17: [("unmask_ranks", (3,))]}
    results = run_threads(24, schedule)
    check_agree(results)
    for r in results:
        after = r["after_op"][5]
        assert after["masked"] == [3] and after["lost"] == [[], []]
        assert after["metrics"]["masked_ranks"] == 1 and after["metrics"]["lost_experts"] == 0
        # Before the mask every rank served tokens (round robin over replicas on all ranks).
        assert r["ranks_used"][5] == [0, 1, 2, 3]
        for step in range(6, 18):
            assert 3 not in r["ranks_used"][step], (r["rank"], step)
        assert r["after_op"][17]["masked"] == []
        assert 3 in r["ranks_used"][18]  # its slots still hold their experts: used at once
        assert r["masked"] == [] and r["metrics"]["masked_ranks"] == 0
        assert r["dropped"] == r["dropped_expected"] == r["metrics"]["dropped_tokens"] == 0
        assert r["loads"] == [] and r["metrics"]["reloaded_experts"] == 0
        assert 'eplb_masked_ranks{rank="%d"} 0' % r["rank"] in r["prometheus"]
        warnings = [m for level, m in r["log"] if level == "warning"]
        assert any("masked ranks now: 3" in m for m in warnings), r["log"]
    # The re-plan after the mask moved the hot experts off rank 3: a cycle committed then.
    assert any(kind == "layer_committed" and 6 <= step <= 17
               for kind, step, _ in results[0]["events"])


def test_refuse_policy_raises_naming_the_experts_and_changes_nothing():
    # Rank 0 of a 4-rank world, placements only; mask_ranks itself never communicates.
    balancer = eplb.Balancer(world.config(lost_expert_policy="refuse"),
                             eplb.InProcessWorld(world.NUM_RANKS).communicator(0))
    ids = world.topk_ids(0)
    before = balancer.route(0, ids)
    with pytest.raises(eplb.Error) as info:
        balancer.mask_ranks([3, 1])  # 3 alone would be fine: all or nothing
    message = str(info.value)
    assert "refused (lost_expert_policy refuse)" in message
    initial = np.stack([INITIAL_ROW, INITIAL_ROW])
    assert lost_reference(initial, [3, 1]) == [[3, 4, 5], [3, 4, 5]]
    assert "layer 0: 3,4,5; layer 1: 3,4,5" in message
    assert balancer.masked_ranks == [] and balancer.lost_experts == [[], []]
    assert balancer.metrics()["masked_ranks"] == 0
    np.testing.assert_array_equal(balancer.route(0, ids), before)
    # Masking rank 3 is accepted; then rank 2 alone is refused for 6 and 7 (0 lives on rank 0).
    balancer.mask_ranks(np.array([3]))
    with pytest.raises(eplb.Error, match="layer 0: 6,7; layer 1: 6,7"):
        balancer.mask_ranks([2])
    assert balancer.masked_ranks == [3]


@pytest.mark.parametrize("op", ["mask_ranks", "unmask_ranks"])
@pytest.mark.parametrize("ranks, error, message", [
    ([4], eplb.Error, "rank 4 out of range [0, 4)"),
    ([-1], eplb.Error, "rank -1 out of range [0, 4)"),
    ([0.5], ValueError, "ranks: expected an iterable of ints, got the item 0.5"),
    (2, ValueError, "ranks: expected an iterable of ints, got 2 (int)"),
])
def test_bad_ranks_raise_naming_the_value(op, ranks, error, message):
    balancer = eplb.Balancer(world.config(), eplb.InProcessWorld(world.NUM_RANKS).communicator(1))
    with pytest.raises(error) as info:
        getattr(balancer, op)(ranks)
    assert message in str(info.value)
    assert balancer.masked_ranks == []


def test_masking_every_rank_is_refused():
    balancer = eplb.Balancer(world.config(lost_expert_policy="restore"),
                             eplb.InProcessWorld(world.NUM_RANKS).communicator(0))
    with pytest.raises(eplb.Error, match=r"mask_ranks\(0,1,2,3\): would mask all 4 ranks"):
        balancer.mask_ranks(range(4))
    assert balancer.masked_ranks == []


def test_restore_policy_reloads_lost_experts_through_load_expert():
    # Rank 1 (experts 3, 4, 5 in both layers) is masked after af(5) under restore: 4 and 5 are
    # lost (tokens dropped) until the re-plan places them on live ranks, where load_expert
    # writes their weights (run_rank_masked checks every store slot against the placement).
    results = run_threads(30, {5: [("mask_ranks", [1])]}, lost_expert_policy="restore")
    check_agree(results)
    expected_lost = lost_reference(np.stack([INITIAL_ROW, INITIAL_ROW]), [1])
    calls = [(r["rank"],) + call[1:3] for r in results for call in r["loads"]]
    assert calls, "load_expert was never called"
    for r in results:
        after = r["after_op"][5]
        assert after["lost"] == expected_lost == [[4, 5], [4, 5]]
        assert after["metrics"]["lost_experts"] == 4 and after["metrics"]["masked_ranks"] == 1
        for step, layer, expert, lost_then, masked_then in r["loads"]:
            assert step > 5 and masked_then == [1]
            assert expert in lost_then, (step, layer, expert, lost_then)
        # Every lost expert restored: nothing lost, no more drops, weights where they belong.
        assert r["lost"] == [[], []] and r["metrics"]["lost_experts"] == 0
        assert r["masked"] == [1]
        # Dropped entries: the reference's per step, summed (layers restore at their commit).
        assert r["metrics"]["dropped_tokens"] == r["dropped"] == r["dropped_expected"]
        assert r["dropped"] >= dropped_reference(expected_lost)  # at least step 6 dropped all
        assert r["hook_errors"] == []
    # Only live ranks load, exactly the lost (layer, expert) pairs, each at least once.
    assert {c[0] for c in calls} <= {0, 2, 3}
    assert {(layer, expert) for _, layer, expert in calls} == {(0, 4), (0, 5), (1, 4), (1, 5)}
    assert results[0]["metrics"]["reloaded_experts"] == len(calls)
    # The final placement has replicas of 4 and 5 on live ranks, rank 1's slots unchanged.
    final = results[0]["final"]
    assert lost_reference(final, [1]) == [[], []]
    np.testing.assert_array_equal(final[:, 3:6], [[3, 4, 5], [3, 4, 5]])


def test_raising_load_expert_fails_the_layer_and_is_raised_from_the_hook():
    results = run_threads(40, {5: [("mask_ranks", [1])]}, fail_first_load=True,
                          lost_expert_policy="restore")
    check_agree(results)
    raised = [(r["rank"], e) for r in results for e in r["hook_errors"]]
    assert len(raised) == len([r for r in results if r["loads"]])  # once per loading rank
    for rank, (step, message) in raised:
        assert "injected load failure for expert" in message
    for r in results:
        # The failed layer was given up on every rank and retried by a later cycle.
        assert r["metrics"]["transfer_failures"] >= 1
        assert r["lost"] == [[], []]
    failed = [m for r in results for level, m in r["log"] if "load_expert raised" in m]
    assert failed and all("load_expert raised RuntimeError: injected load failure" in m
                          and "Traceback" not in m for m in failed), failed


def test_restore_needs_load_expert_with_weights_and_it_must_be_callable():
    comm = eplb.InProcessWorld(world.NUM_RANKS).communicator(0)
    store = eplb.HostWeightStore(world.NUM_LAYERS, SPR, 64)
    with pytest.raises(eplb.Error, match="lost_expert_policy restore needs"):
        eplb.Balancer(world.config(lost_expert_policy="restore"), comm, store)
    with pytest.raises(TypeError, match="load_expert: expected a callable"):
        eplb.Balancer(world.config(lost_expert_policy="restore"), comm, store, load_expert=3)
    # Placements only (no store): no weights to load, no callback needed.
    eplb.Balancer(world.config(lost_expert_policy="restore"), comm).mask_ranks([1])


def test_config_lost_expert_policy_and_planner_timeout_steps():
    c = eplb.BalancerConfig()
    assert c.lost_expert_policy == "refuse" and c.planner_timeout_steps == 0
    c = world.config(lost_expert_policy="restore", planner_timeout_steps=5)
    assert (c.lost_expert_policy, c.planner_timeout_steps) == ("restore", 5)
    assert "lost_expert_policy='restore'" in repr(c) and "planner_timeout_steps=5" in repr(c)
    c.lost_expert_policy = "refuse"
    assert c.lost_expert_policy == "refuse"
    with pytest.raises(eplb.Error, match="lost_expert_policy drop: unknown policy"):
        c.lost_expert_policy = "drop"
    with pytest.raises(eplb.Error, match="lost_expert_policy drop"):
        eplb.BalancerConfig(lost_expert_policy="drop")
    c.planner_timeout_steps = 1  # below algorithm_execution_interval 2
    with pytest.raises(eplb.Error, match="planner_timeout_steps 1"):
        c.validate()


class SlowGather(eplb.Communicator):
    """One rank; the load gathers (num_layers * num_experts values) poll 'pending' until the
    test loop sets step >= release_step (a slow transport: the plan cannot be ready before),
    complete when waited on (the balancer waits for a gather still in flight when it ends a
    cycle); votes complete at once."""

    def __init__(self, cells: int, release_step: int):
        super().__init__()
        self.cells, self.release_step, self.step = cells, release_step, 0

    def rank(self):
        return 0

    def num_ranks(self):
        return 1

    def all_gather(self, local, gathered):
        gathered[0] = local
        if local.size != self.cells:
            return eplb.CompletedHandle()
        comm = self

        class Pending(eplb.CommHandle):
            def poll(self):
                return "done" if comm.step >= comm.release_step else "pending"

            def wait(self, timeout):
                return "done"

        return Pending()

    def broadcast(self, data, root):
        return eplb.CompletedHandle()  # one rank: the root's data is already in place

    def exchange(self, sends, recvs):
        by_tag = {tag: data for _, tag, data in sends}
        for _, tag, data in recvs:
            data[...] = by_tag[tag]
        return eplb.CompletedHandle()


def test_planner_watchdog_abandons_a_plan_not_ready_in_time():
    # Cycle 0 gathers at af(3); the gather completes only at step 7, so at the vote consumed
    # in bf(3 + planner_timeout_steps 3) = bf(6) the plan is not ready: abandoned, placement
    # kept. Cycle 1 (gather af(7)) plans normally.
    comm = SlowGather(world.NUM_LAYERS * world.NUM_EXPERTS, release_step=7)
    events, log, at_timeout = [], [], {}
    cfg = world.config(num_ranks=1, num_redundant_experts=0, planner_timeout_steps=3,
                       vote_timeout_ms=5000)
    balancer = eplb.Balancer(cfg, comm, on_event=lambda e: events.append((e.kind, e.step)),
                             log=lambda level, message: log.append((level, message)))
    initial = balancer.placement.phy2log.copy()
    for step in range(16):
        comm.step = step
        balancer.before_forward(step)
        if ("plan_timed_out", step) in events:
            at_timeout = balancer.metrics()
        for layer in range(world.NUM_LAYERS):
            balancer.recorder.record_topk(layer, world.topk_ids(layer))
        balancer.after_forward(step)
        balancer.wait_planner_idle()
    assert events[:4] == [("gather_started", 3), ("plan_late", 5), ("plan_timed_out", 6),
                          ("cycle_ended", 6)]
    assert at_timeout["planner_timeouts"] == 1 and at_timeout["cycles"] == 1
    assert at_timeout["last_cycle"]["planner_timed_out"] is True
    assert at_timeout["last_cycle"]["take_step"] == -1
    assert ("plan_taken", 9) in events  # cycle 1: gather af(7), taken at bf(7 + 2)
    m = balancer.metrics()
    assert m["planner_timeouts"] == 1 and m["last_cycle"]["planner_timed_out"] is False
    np.testing.assert_array_equal(balancer.placement.phy2log, initial)
    assert any("planner_timeout_steps 3" in message for level, message in log
               if level == "warning"), log


def test_metrics_dict_has_the_fault_tolerance_fields():
    balancer = eplb.Balancer(world.config(), eplb.InProcessWorld(world.NUM_RANKS).communicator(0))
    m = balancer.metrics()
    for key in ("planner_timeouts", "dropped_tokens", "reloaded_experts", "masked_ranks",
                "lost_experts"):
        assert m[key] == 0, key
    assert m["last_cycle"]["planner_timed_out"] is False


def test_host_expert_copy_views_and_errors():
    copy = eplb.HostExpertCopy(2, 3, 8)
    assert (copy.num_layers, copy.num_experts, copy.bytes_per_expert) == (2, 3, 8)
    experts = copy.experts
    assert experts.shape == (2, 3, 8) and experts.dtype == np.uint8 and not experts.any()
    copy.expert_bytes(1, 2)[:] = np.arange(8, dtype=np.uint8)
    np.testing.assert_array_equal(experts[1, 2], np.arange(8))  # the same memory
    experts[0, 1] = 7
    np.testing.assert_array_equal(copy.expert_bytes(0, 1), [7] * 8)
    with pytest.raises(eplb.Error, match=r"HostExpertCopy: expert 3 out of range \[0, 3\)"):
        copy.expert_bytes(0, 3)
    with pytest.raises(eplb.Error, match=r"HostExpertCopy: layer -1 out of range \[0, 2\)"):
        copy.expert_bytes(-1, 0)
    with pytest.raises(eplb.Error, match="num_layers 0 and num_experts 3 must be > 0"):
        eplb.HostExpertCopy(0, 3, 8)
    assert repr(copy) == "HostExpertCopy(num_layers=2, num_experts=3, bytes_per_expert=8)"


def test_restore_from_a_host_expert_copy():
    # The same scenario as the load_expert test, the weights copied in C++ from the host copy;
    # run_rank_masked checks every store slot against the placement at every step.
    results = run_threads(30, {5: [("mask_ranks", [1])]},
                          host_copy=world.FLOATS_PER_EXPERT * 4, lost_expert_policy="restore")
    check_agree(results)
    for r in results:
        assert r["after_op"][5]["lost"] == [[4, 5], [4, 5]]
        assert r["lost"] == [[], []] and r["hook_errors"] == [] and r["loads"] == []
        assert r["metrics"]["dropped_tokens"] == r["dropped"] == r["dropped_expected"] > 0
    final = results[0]["final"]
    assert lost_reference(final, [1]) == [[], []]
    # Experts 4 and 5 of both layers now have a live replica that was reloaded.
    assert results[0]["metrics"]["reloaded_experts"] >= 4


def test_host_expert_copy_of_another_size_fails_the_moves_and_keeps_the_old_weights():
    results = run_threads(20, {5: [("mask_ranks", [1])]}, host_copy=4,
                          lost_expert_policy="restore")
    check_agree(results)
    for r in results:
        # Every move that needed a reload failed on every rank: 4 and 5 are still lost, and
        # run_rank_masked found the old weights under the old map at every step.
        assert r["lost"] == [[4, 5], [4, 5]] and r["metrics"]["transfer_failures"] >= 1
        assert r["metrics"]["reloaded_experts"] == 0 and r["hook_errors"] == []
    messages = [m for r in results for _, m in r["log"]]
    assert any("HostExpertCopy: destination of 64 bytes for an expert of 4" in m
               for m in messages), messages
