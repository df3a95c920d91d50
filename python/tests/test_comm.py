"""eplb.Communicator subclassed in Python, and eplb.InProcessWorld.

numpy reference of all_gather: every rank contributes local [n]; gathered [num_ranks, n] holds
rank r's values in row r, e.g. ranks 0 and 1 contributing [1, 2] and [3, 4] give
[[1, 2], [3, 4]]. A one-rank world gathers its own values.
"""

import numpy as np
import pytest

import eplb


def reference_all_gather(contributions):
    return np.stack(contributions)


class OneRank(eplb.Communicator):
    """A synchronous one-rank transport: every operation completes when started."""

    def __init__(self, gather_state="done"):
        super().__init__()
        self.gather_state = gather_state
        self.gathers = []

    def rank(self):
        return 0

    def num_ranks(self):
        return 1

    def all_gather(self, local, gathered):
        assert local.dtype == np.float64 and gathered.shape == (1, local.size)
        assert not local.flags.writeable and gathered.flags.writeable
        gathered[:] = reference_all_gather([local])
        self.gathers.append(local.size)
        return eplb.CompletedHandle(self.gather_state, "peer lost")

    def broadcast(self, data, root):
        return eplb.CompletedHandle()

    def exchange(self, sends, recvs):
        return eplb.CompletedHandle()


def config(**overrides):
    fields = dict(num_layers=1, num_experts=4, num_ranks=1, expert_heat_collection_interval=1,
                  algorithm_execution_interval=1, vote_timeout_ms=2000)
    fields.update(overrides)
    return eplb.BalancerConfig(**fields)


def test_reference():
    np.testing.assert_array_equal(reference_all_gather([np.array([1, 2]), np.array([3, 4])]),
                                  [[1, 2], [3, 4]])


def test_python_communicator_drives_the_cycle():
    comm = OneRank()
    assert (comm.rank(), comm.num_ranks(), comm.backend_name()) == (0, 1, "python")
    balancer = eplb.Balancer(config(), comm, on_event=None)
    for step in range(4):
        balancer.before_forward(step)
        balancer.recorder.record_topk(0, np.array([[0], [0], [1]], np.int32))
        balancer.after_forward(step)
        balancer.wait_planner_idle()
    # Loads [num_layers * num_experts] gathered once per cycle, votes in between.
    assert 4 in comm.gathers
    assert balancer.metrics()["cycles"] >= 1
    assert "Communicator(backend='python', rank=0, num_ranks=1)" == repr(comm)


def test_failed_vote_raises_from_the_hook_with_the_handle_error():
    balancer = eplb.Balancer(config(), OneRank(gather_state="failed"))
    balancer.before_forward(0)
    balancer.after_forward(0)  # gathers loads and votes: both fail
    with pytest.raises(eplb.Error, match="step 1: vote failed: peer lost"):
        balancer.before_forward(1)


class BadState(OneRank):
    def all_gather(self, local, gathered):
        class Handle(eplb.CommHandle):
            def poll(self):
                return "finished"
        return Handle()


def test_invalid_handle_state_is_a_clear_error():
    balancer = eplb.Balancer(config(), BadState())
    balancer.before_forward(0)
    balancer.after_forward(0)
    with pytest.raises(eplb.Error, match="returned 'finished' \\(expected 'pending', 'done'"):
        balancer.before_forward(1)


class Raising(OneRank):
    def all_gather(self, local, gathered):
        raise ConnectionError("network down")


def test_exception_in_an_operation_becomes_a_failed_handle():
    balancer = eplb.Balancer(config(), Raising())
    balancer.before_forward(0)
    balancer.after_forward(0)
    with pytest.raises(eplb.Error, match="all_gather: .*network down"):
        balancer.before_forward(1)


class Incomplete(eplb.Communicator):
    """Implements nothing."""


def test_missing_methods_and_wrong_sizes_are_refused():
    with pytest.raises(Exception, match="rank"):
        eplb.Balancer(config(), Incomplete())
    with pytest.raises(eplb.Error, match="the communicator has 1 ranks but num_ranks is 2"):
        eplb.Balancer(config(num_ranks=2, num_redundant_experts=0), OneRank())
    with pytest.raises(TypeError, match="comm: expected an eplb.Communicator"):
        eplb.Balancer(config(), object())


def test_in_process_world():
    world = eplb.InProcessWorld(3)
    assert world.num_ranks == 3
    comm = world.communicator(2)
    assert (comm.rank(), comm.num_ranks(), comm.backend_name()) == (2, 3, "in_process")
    with pytest.raises(eplb.Error, match="3"):
        world.communicator(3)
    with pytest.raises(eplb.Error):
        eplb.InProcessWorld(0)
