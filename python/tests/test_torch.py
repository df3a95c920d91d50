"""torch tensors through DLPack: read and written in place (no copies), results as tensors.
Skipped, with the reason, where torch is not installed (pip install torch)."""

import numpy as np
import pytest

import eplb

torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch)")


# ---- numpy reference -------------------------------------------------------------------------
def count(topk_ids: np.ndarray, num_experts: int) -> np.ndarray:
    ids = topk_ids.ravel()
    return np.bincount(ids[(ids >= 0) & (ids < num_experts)], minlength=num_experts)


# ---- tests -----------------------------------------------------------------------------------
@pytest.fixture
def topk() -> "torch.Tensor":
    """[64 tokens, 2] int64 logical ids, as torch.topk returns them."""
    return torch.randint(0, 8, (64, 2), generator=torch.Generator().manual_seed(5))


def test_counts_written_in_place(topk):
    counts = torch.zeros(8, dtype=torch.int64)
    pointer = counts.data_ptr()
    same, ignored = eplb.count_expert_load(topk, 8, counts)
    assert same is counts and counts.data_ptr() == pointer and ignored == 0
    np.testing.assert_array_equal(counts.numpy(), count(topk.numpy(), 8))
    fresh, _ = eplb.count_expert_load(topk.to(torch.int32), 8)
    assert isinstance(fresh, torch.Tensor) and fresh.dtype == torch.int64
    assert torch.equal(fresh, counts)


def test_decayed_counts_tensor(topk):
    counts = torch.ones(8, dtype=torch.float64)
    eplb.count_expert_load_decayed(topk, 8, 0.5, counts)
    np.testing.assert_array_equal(counts.numpy(), 0.5 + count(topk.numpy(), 8))


def test_non_contiguous_tensor_is_converted(topk):
    wide = topk.repeat_interleave(2, dim=1)[:, ::2]
    assert not wide.is_contiguous()
    np.testing.assert_array_equal(eplb.count_expert_load(wide, 8)[0].numpy(),
                                  count(topk.numpy(), 8))
    np.testing.assert_array_equal(eplb.count_expert_load(topk.t(), 8)[0].numpy(),
                                  count(topk.numpy(), 8))


def test_route_tokens_tensor_in_tensor_out(topk):
    p = eplb.Placement(np.array([[0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 0, 2]]), num_ranks=4)
    table = p.replica_table(0)
    slots = eplb.route_tokens(topk.to(torch.int32), table)
    assert isinstance(slots, torch.Tensor) and slots.dtype == torch.int32
    assert torch.equal(torch.tensor(p.phy2log[0])[slots.long()], topk.to(torch.int32))
    out = torch.empty(topk.shape, dtype=torch.int32)
    assert eplb.route_tokens(topk, table, out=out) is out  # int64 ids: converted
    assert torch.equal(out, slots)


def test_plan_and_report_accept_tensors():
    loads = torch.tensor([[900.0, 500, 120, 80, 60, 40, 30, 20]])
    p = eplb.plan(loads, num_ranks=4, num_slots=12)
    assert p.phy2log.shape == (1, 12)
    assert eplb.report(loads, p)["num_ranks"] == 4
    assert eplb.LoadMatrix(loads.to(torch.int64)).values.dtype == np.float64


def test_tensor_refusals(topk):
    with pytest.raises(ValueError, match="counts: .* got int32"):
        eplb.count_expert_load(topk, 8, torch.zeros(8, dtype=torch.int32))
    with pytest.raises(ValueError, match="topk_ids: expected integer ids .* got float32"):
        eplb.count_expert_load(topk.float(), 8)
    with pytest.raises(ValueError, match="got a non-contiguous array"):
        eplb.count_expert_load(topk, 8, torch.zeros(16, dtype=torch.int64)[::2])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_device_tensors_are_refused(topk):
    with pytest.raises(ValueError, match="not the host"):
        eplb.count_expert_load(topk.cuda(), 8)


def test_balancer_routes_and_records_tensors(topk):
    cfg = eplb.BalancerConfig(num_layers=1, num_experts=8, num_ranks=1, num_redundant_experts=4)
    balancer = eplb.Balancer(cfg, eplb.InProcessWorld(1).communicator(0))
    balancer.before_forward(0)
    balancer.recorder.record_topk(0, topk)  # int64 tensor, read in place
    np.testing.assert_array_equal(balancer.recorder.snapshot().values[0], count(topk.numpy(), 8))
    slots = balancer.route(0, topk.to(torch.int32))
    assert isinstance(slots, torch.Tensor) and slots.dtype == torch.int32
    phy2log = torch.from_numpy(balancer.placement.phy2log[0].astype(np.int64))
    assert torch.equal(phy2log[slots.long()], topk)
    out = torch.empty(64, 2, dtype=torch.int32)
    assert balancer.route(0, topk, out=out) is out and torch.equal(out, slots)
    balancer.after_forward(0)


def test_weight_store_slot_as_tensor_without_copy():
    store = eplb.HostWeightStore(1, 2, 4 * 6)
    weights = torch.from_numpy(store.slot_bytes(0, 1)).view(torch.float32).view(2, 3)
    weights.fill_(2.5)
    assert store.slot_bytes(0, 1).view(np.float32).tolist() == [2.5] * 6
    assert not store.slot_bytes(0, 0).any()
