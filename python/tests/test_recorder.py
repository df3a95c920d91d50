"""eplb.LoadRecorder: windowed and decayed statistics against a numpy reference."""

import numpy as np
import pytest

import eplb


# ---- numpy reference -------------------------------------------------------------------------
def windowed(steps: list, window: int) -> np.ndarray:
    """steps: per-step [num_layers, num_experts] counts, the last one open."""
    return np.sum(steps[-window:], axis=0).astype(np.float64)


def decayed(steps: list, decay: float) -> np.ndarray:
    out = np.zeros_like(steps[0], dtype=np.float64)
    for counts in steps:
        out = out * decay + counts
    return out


def step_counts(topk_per_layer: list, num_experts: int) -> np.ndarray:
    return np.stack([np.bincount(t.ravel(), minlength=num_experts) for t in topk_per_layer])


# ---- tests -----------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["windowed", "decayed"])
def test_statistic_matches_numpy(rng, mode):
    rec = eplb.LoadRecorder(2, 8, mode=mode, window_steps=3, decay=0.5)
    assert (rec.num_layers, rec.num_experts, rec.mode) == (2, 8, mode)
    steps = []
    for step in range(5):
        topk = [rng.integers(0, 8, size=(16, 2)).astype(np.int32),
                rng.integers(0, 8, size=(16, 2))]  # int64 for layer 1
        for layer, ids in enumerate(topk):
            assert rec.record_topk(layer, ids) == 0
        steps.append(step_counts(topk, 8))
        want = windowed(steps, 3) if mode == "windowed" else decayed(steps, 0.5)
        np.testing.assert_allclose(rec.snapshot().values, want)
        out = np.empty((2, 8))
        assert rec.snapshot_into(out) is out
        np.testing.assert_allclose(out, want)
        rec.end_step()
    assert rec.num_closed_steps == 5
    rec.reset()
    assert rec.snapshot().values.sum() == 0


def test_record_counts_and_ignored_ids():
    rec = eplb.LoadRecorder(1, 4)
    rec.record_counts(0, np.array([1, 2, 3, 4], dtype=np.int32))  # converted
    assert rec.record_topk(0, np.array([[0, -1], [4, 3]])) == 2
    np.testing.assert_array_equal(rec.snapshot().values, [[2, 2, 3, 5]])
    strided = np.array([[1, 9], [1, 9]])[:, :1]
    assert rec.record_topk(0, strided) == 0


def test_errors():
    with pytest.raises(eplb.Error, match="mode ema: unknown recorder mode"):
        eplb.LoadRecorder(1, 4, mode="ema")
    with pytest.raises(eplb.Error):
        eplb.LoadRecorder(0, 4)
    with pytest.raises(eplb.Error):
        eplb.LoadRecorder(1, 4, mode="decayed", decay=1.5)
    rec = eplb.LoadRecorder(2, 4)
    with pytest.raises(eplb.Error, match=r"layer_idx 2 out of range \[0, 2\)"):
        rec.record_topk(2, np.zeros(3, dtype=np.int32))
    with pytest.raises(ValueError, match="topk_ids: expected integer ids"):
        rec.record_topk(0, np.zeros(3))
    with pytest.raises(eplb.Error):
        rec.record_counts(0, np.ones(5, dtype=np.int64))
    with pytest.raises(ValueError, match="out: .* got float32"):
        rec.snapshot_into(np.empty((2, 4), dtype=np.float32))
