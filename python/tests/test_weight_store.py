"""eplb.HostWeightStore: slot and staging buffers as writable uint8 numpy views, no copies.

numpy reference: a store of 2 layers x 3 slots x 40 bytes holds a [2, 3, 40] uint8 array; slot
(l, i) = slots[l, i]; rows are 64-byte aligned, so the 3-D view is strided (64 bytes per slot).
"""

import numpy as np
import pytest

import eplb


def reference(store):
    return np.stack([[np.asarray(store.slot_bytes(l, i)) for i in range(store.slots_per_rank)]
                     for l in range(store.num_layers)])


def test_views_are_writable_and_shared():
    store = eplb.HostWeightStore(2, 3, 40)
    assert (store.num_layers, store.slots_per_rank, store.bytes_per_expert,
            store.num_staging_areas) == (2, 3, 40, 2)
    slot = store.slot_bytes(1, 2)
    assert slot.shape == (40,) and slot.dtype == np.uint8 and slot.flags.writeable
    assert not slot.any()  # zero-initialised
    slot[:] = np.arange(40, dtype=np.uint8)
    # A second view sees the write: the same memory, not a copy.
    np.testing.assert_array_equal(store.slot_bytes(1, 2), np.arange(40))
    slots = store.slots
    assert slots.shape == (2, 3, 40) and slots.strides == (3 * 64, 64, 1)
    np.testing.assert_array_equal(slots, reference(store))
    assert np.shares_memory(slots, slot)
    slots[0, 1, :4] = 9
    assert store.slot_bytes(0, 1)[:4].tolist() == [9, 9, 9, 9]
    assert slot.ctypes.data % 64 == 0
    weights = store.slot_bytes(0, 0).view(np.float32)  # typed views of the same bytes
    weights[:] = 1.5
    assert store.slots[0, 0].view(np.float32)[0] == 1.5


def test_view_keeps_the_store_alive():
    slot = eplb.HostWeightStore(1, 1, 16).slot_bytes(0, 0)
    slot[:] = 7  # the store is only referenced by the view now
    assert slot.sum() == 7 * 16


def test_staging_buffers_are_separate():
    store = eplb.HostWeightStore(1, 2, 8, num_staging_areas=3)
    for area in range(3):
        store.staging_bytes(area, 1)[:] = area + 1
    assert not np.shares_memory(store.staging_bytes(0, 0), store.slots)
    assert [int(store.staging_bytes(a, 1)[0]) for a in range(3)] == [1, 2, 3]
    assert not store.slots.any()


def test_out_of_range_and_bad_shapes_raise():
    store = eplb.HostWeightStore(2, 3, 8)
    with pytest.raises(eplb.Error, match=r"slot \(layer 2, local slot 0\) out of range"):
        store.slot_bytes(2, 0)
    with pytest.raises(eplb.Error, match=r"staging \(area 0, local slot 3\) out of range"):
        store.staging_bytes(0, 3)
    with pytest.raises(eplb.Error, match="num_layers 0, slots_per_rank 3"):
        eplb.HostWeightStore(0, 3, 8)
    with pytest.raises(TypeError):
        eplb.HostWeightStore(1, 1, -8)  # bytes_per_expert is unsigned


def test_balancer_checks_the_store_shape():
    cfg = eplb.BalancerConfig(num_layers=2, num_experts=8, num_ranks=4, num_redundant_experts=4)
    comm = eplb.InProcessWorld(4).communicator(0)
    two_layers_at_once = eplb.BalancerConfig(num_layers=2, num_experts=8, num_ranks=4,
                                             num_redundant_experts=4, layer_updates_per_iter=2)
    with pytest.raises(eplb.Error, match="Balancer: the weight store has 1 staging area"):
        eplb.Balancer(two_layers_at_once, comm, eplb.HostWeightStore(2, 3, 8, num_staging_areas=1))
    with pytest.raises(eplb.Error, match="the weight store has 2 layers x 4 slots per rank but "
                                         "the config has num_layers 2 x 3 slots per rank"):
        eplb.Balancer(cfg, comm, eplb.HostWeightStore(2, 4, 8))
    with pytest.raises(TypeError, match="store: expected an eplb.ExpertWeightStore"):
        eplb.Balancer(cfg, comm, np.zeros(10))
