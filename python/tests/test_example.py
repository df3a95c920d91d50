"""python/examples/moe_forward.py runs: 2 CPU processes over gloo, a short loop with two
rebalances; the example checks its outputs against a dense reference itself. Skipped, with the
reason, where torch is not installed."""

import pathlib
import subprocess
import sys

import pytest

pytest.importorskip("torch", reason="torch is not installed (pip install torch)")

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "moe_forward.py"


def test_moe_forward_example_runs():
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), "--ranks", "2", "--slots-per-rank", "5", "--steps", "4",
         "--rebalance-every", "2", "--tokens", "64"],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "rebalanced: planned max/mean" in result.stdout
    assert "ok: expert-parallel outputs match the dense reference" in result.stdout
