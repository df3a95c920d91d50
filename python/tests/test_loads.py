"""eplb.read_loads and eplb.LoadMatrix: every load file format, windows, layers, errors."""

import json

import numpy as np
import pytest

import eplb


# ---- numpy reference -------------------------------------------------------------------------
def window_sum(trace: np.ndarray, begin: int, end: int) -> np.ndarray:
    """[steps, layers, experts] -> [layers, experts] summed over steps begin..end-1."""
    return trace[begin:end].sum(axis=0).astype(np.float64)


@pytest.fixture
def trace(rng) -> np.ndarray:
    """[5 steps, 3 layers, 8 experts] uint32 counts."""
    return rng.integers(0, 100, size=(5, 3, 8)).astype(np.uint32)


# ---- tests -----------------------------------------------------------------------------------
def test_npy_2d(tmp_path, toy_loads):
    np.save(tmp_path / "loads.npy", toy_loads)
    m = eplb.read_loads(tmp_path / "loads.npy")
    assert (m.num_layers, m.num_experts, m.layer_ids) == (2, 8, [0, 1])
    np.testing.assert_array_equal(m.values, toy_loads)
    np.testing.assert_array_equal(np.asarray(m), toy_loads)


@pytest.mark.parametrize("window", ["1:4", slice(1, 4)])
def test_npy_3d_window(tmp_path, trace, window):
    np.save(tmp_path / "trace.npy", trace)
    m = eplb.read_loads(str(tmp_path / "trace.npy"), window=window)
    np.testing.assert_array_equal(m.values, window_sum(trace, 1, 4))
    everything = eplb.read_loads(tmp_path / "trace.npy")
    np.testing.assert_array_equal(everything.values, window_sum(trace, 0, 5))


def test_layers_selection_keeps_ids(tmp_path, trace):
    np.save(tmp_path / "trace.npy", trace)
    m = eplb.read_loads(tmp_path / "trace.npy", layers="1:")
    assert m.layer_ids == [1, 2]
    np.testing.assert_array_equal(m.values, window_sum(trace, 0, 5)[1:])


def test_csv_and_sglang(tmp_path, toy_loads):
    csv = tmp_path / "loads.csv"
    csv.write_text("\n".join(",".join(str(int(v)) for v in row) for row in toy_loads) + "\n")
    np.testing.assert_array_equal(eplb.read_loads(csv).values, toy_loads)
    dump = tmp_path / "dump.json"
    dump.write_text(json.dumps({"logical_count": toy_loads.astype(int).tolist()}))
    np.testing.assert_array_equal(eplb.read_loads(dump).values, toy_loads)


def test_load_matrix_class(toy_loads):
    m = eplb.LoadMatrix(toy_loads.astype(np.int32), layer_ids=[10, 11])
    assert m.values.dtype == np.float64 and m.layer_ids == [10, 11]
    m.values[0, 0] = 7  # a writable view of the matrix
    assert m.values[0, 0] == 7
    assert m.has_data(0) and not eplb.LoadMatrix(np.zeros((1, 4))).has_data(0)
    sub = m.rows(1, 2)
    assert sub.layer_ids == [11] and sub.values.shape == (1, 8)
    assert eplb.LoadMatrix.zeros(2, 3).values.shape == (2, 3)
    with pytest.raises(eplb.Error, match="out of range|rows"):
        m.rows(1, 5)
    with pytest.raises(ValueError, match="layer_idx 2 out of range"):
        m.has_data(2)
    with pytest.raises(ValueError, match="a LoadMatrix carries its own layer ids"):
        eplb.plan(m, num_ranks=4, num_slots=8, layer_ids=[0, 1])


def test_errors(tmp_path, trace):
    with pytest.raises(eplb.Error, match="missing.npy: cannot read"):
        eplb.read_loads(tmp_path / "missing.npy")
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(eplb.Error, match="bad.npy"):
        eplb.read_loads(bad)
    negative = tmp_path / "negative.csv"
    negative.write_text("1,2\n3,-4\n")
    with pytest.raises(eplb.Error, match="negative.csv"):
        eplb.read_loads(negative)
    (tmp_path / "loads.txt").write_text("1,2\n")
    with pytest.raises(eplb.Error, match="loads.txt"):
        eplb.read_loads(tmp_path / "loads.txt")
    np.save(tmp_path / "trace.npy", trace)
    with pytest.raises(eplb.Error, match="window"):
        eplb.read_loads(tmp_path / "trace.npy", window="x:y")
    with pytest.raises(ValueError, match="window: a slice with a step"):
        eplb.read_loads(tmp_path / "trace.npy", window=slice(0, 4, 2))
    with pytest.raises(ValueError, match="layers: expected"):
        eplb.read_loads(tmp_path / "trace.npy", layers=3)
    with pytest.raises(eplb.Error, match="layers|empty|range"):
        eplb.read_loads(tmp_path / "trace.npy", layers="5:9")
