"""eplb.Placement: construction, derived arrays, file round trips in every format, errors."""

import pickle

import numpy as np
import pytest

import eplb


# ---- numpy reference -------------------------------------------------------------------------
def log2phy(phy2log: np.ndarray, num_experts: int) -> np.ndarray:
    """[num_layers, num_slots] -> [num_layers, num_experts, max_replicas], -1 padded."""
    counts = np.stack([np.bincount(row, minlength=num_experts) for row in phy2log])
    out = np.full((*counts.shape, counts.max()), -1, dtype=np.int32)
    for layer, row in enumerate(phy2log):
        for expert in range(num_experts):
            slots = np.flatnonzero(row == expert)
            out[layer, expert, : len(slots)] = slots
    return out


TOY_PHY2LOG = np.array([[0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 0, 2],
                        [7, 6, 5, 4, 3, 2, 1, 0, 1, 3, 5, 7]], dtype=np.int32)


@pytest.fixture
def toy() -> eplb.Placement:
    """2 layers (ids 3, 5) x 8 experts on 4 ranks x 3 slots."""
    return eplb.Placement(TOY_PHY2LOG, num_ranks=4, layer_ids=[3, 5])


# ---- tests -----------------------------------------------------------------------------------
def test_fields_and_derived_arrays(toy):
    assert (toy.num_layers, toy.num_experts, toy.num_ranks, toy.num_slots) == (2, 8, 4, 12)
    assert toy.slots_per_rank == 3 and toy.layer_ids == [3, 5]
    np.testing.assert_array_equal(toy.phy2log, TOY_PHY2LOG)
    np.testing.assert_array_equal(toy.log2phy, log2phy(TOY_PHY2LOG, 8))
    np.testing.assert_array_equal(toy.replica_count,
                                  [np.bincount(row, minlength=8) for row in TOY_PHY2LOG])
    assert toy.rank_of_slot(11) == 3 and toy.find_layer(5) == 1 and toy.find_layer(4) == -1
    assert "num_slots=12" in repr(toy)
    assert (toy == 3) is False and toy != eplb.Placement.contiguous(2, 8, 4, 12)


def test_phy2log_is_a_read_only_view_that_keeps_the_placement_alive():
    view = eplb.Placement(TOY_PHY2LOG, num_ranks=4).phy2log  # the Placement is dropped here
    assert not view.flags.writeable
    with pytest.raises(ValueError):
        view[0, 0] = 1
    np.testing.assert_array_equal(view, TOY_PHY2LOG)


def test_contiguous_default():
    p = eplb.Placement.contiguous(3, 8, 4, 12)
    np.testing.assert_array_equal(p.phy2log, np.tile(np.arange(12) % 8, (3, 1)))
    assert p.layer_ids == [0, 1, 2]


@pytest.mark.parametrize(
    "fmt, suffix, load_kwargs, keeps_ids",
    [
        ("eplb", ".json", {}, True),
        ("trtllm", ".yaml", {"num_ranks": 4}, True),
        ("ascend", ".json", {"format": "ascend"}, False),  # vllm-ascend numbers layers from 0
    ],
)
def test_round_trip_every_format(tmp_path, toy, fmt, suffix, load_kwargs, keeps_ids):
    path = tmp_path / f"placement{suffix}"
    toy.save(path, format=fmt)
    assert path.read_text() == eplb.format_placement(toy, fmt)
    back = eplb.Placement.load(path, **load_kwargs)
    np.testing.assert_array_equal(back.phy2log, toy.phy2log)
    assert back.num_ranks == 4 and back.num_experts == 8
    assert back.layer_ids == ([3, 5] if keeps_ids else [0, 1])
    assert eplb.read_placement(str(path), **load_kwargs) == back


def test_format_from_extension(tmp_path, toy):
    toy.save(tmp_path / "p.yml")
    assert "initial_global_assignments" in (tmp_path / "p.yml").read_text()
    eplb.write_placement(tmp_path / "p.json", toy)
    assert "eplb.placement.v1" in (tmp_path / "p.json").read_text()


def test_routing_weight_round_trips_in_eplb_format(tmp_path):
    weight = np.ones((2, 12))
    weight[0, [0, 8, 10]] = [0.5, 0.25, 0.25]
    weight[0, [1, 9]] = [0.75, 0.25]
    weight[0, [2, 11]] = [0.5, 0.5]
    weight[1, [6, 8]] = [0.5, 0.5]
    weight[1, [4, 9]] = [0.5, 0.5]
    weight[1, [2, 10]] = [0.5, 0.5]
    weight[1, [0, 11]] = [0.5, 0.5]
    p = eplb.Placement(TOY_PHY2LOG, num_ranks=4, routing_weight=weight)
    p.save(tmp_path / "w.json")
    back = eplb.Placement.load(tmp_path / "w.json")
    np.testing.assert_array_equal(back.routing_weight, weight)
    assert back == p
    p.save(tmp_path / "w.yaml")  # trtllm cannot store it: dropped
    assert eplb.Placement.load(tmp_path / "w.yaml", num_ranks=4).routing_weight is None


def test_pickle_round_trip(toy):
    assert pickle.loads(pickle.dumps(toy)) == toy


def test_check_validate_moved_align(toy):
    assert eplb.check_placement(toy) == []
    eplb.validate_placement(toy)
    other = eplb.Placement.contiguous(2, 8, 4, 12, layer_ids=[3, 5])
    assert eplb.count_moved_slots(toy, other) == int((toy.phy2log != other.phy2log).sum())
    swapped = eplb.align_layers(toy, [5, 3])
    np.testing.assert_array_equal(swapped.phy2log, TOY_PHY2LOG[::-1])
    with pytest.raises(eplb.Error, match="different shapes"):
        eplb.count_moved_slots(toy, eplb.Placement.contiguous(1, 8, 4, 12))


def test_constructor_errors():
    bad = TOY_PHY2LOG.copy()
    bad[1, 4] = 9
    with pytest.raises(eplb.Error, match=r"phy2log\[1\]\[4\]: expert 9 out of range \[0, 8\)"):
        eplb.Placement(bad, num_ranks=4, num_experts=8)
    with pytest.raises(eplb.Error, match="placement: num_slots: 12 slots cannot be split equally over 5 ranks"):
        eplb.Placement(TOY_PHY2LOG, num_ranks=5)
    with pytest.raises(ValueError, match="phy2log: expected integers"):
        eplb.Placement(TOY_PHY2LOG.astype(float), num_ranks=4)
    with pytest.raises(ValueError, match="phy2log: expected a 2-D array"):
        eplb.Placement(TOY_PHY2LOG[0], num_ranks=4)
    with pytest.raises(ValueError, match="routing_weight: shape"):
        eplb.Placement(TOY_PHY2LOG, num_ranks=4, routing_weight=np.ones((2, 11)))
    with pytest.raises(ValueError, match="layer_ids: 1 ids for 2 layers"):
        eplb.Placement(TOY_PHY2LOG, num_ranks=4, layer_ids=[1])


def test_file_errors(tmp_path, toy):
    with pytest.raises(eplb.Error, match="missing.json: cannot read"):
        eplb.Placement.load(tmp_path / "missing.json")
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    with pytest.raises(eplb.Error, match="garbage.json"):
        eplb.Placement.load(garbage)
    toy.save(tmp_path / "p.yaml")
    with pytest.raises(eplb.Error, match="ranks"):
        eplb.Placement.load(tmp_path / "p.yaml")  # trtllm YAML has no rank count
    with pytest.raises(eplb.Error, match="format xml: unknown placement format"):
        toy.save(tmp_path / "p.xml", format="xml")
    with pytest.raises(eplb.Error, match="p.json"):
        toy.save(tmp_path / "no_such_dir" / "p.json")
    with pytest.raises(ValueError, match="path: expected a str or os.PathLike"):
        toy.save(42)
