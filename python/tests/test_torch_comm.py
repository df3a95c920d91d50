"""eplb.torch_comm.TorchCommunicator: the balancer across processes over torch.distributed
(gloo), on the toy world of balancer_world.py (4 processes). Skipped, with the reason, where
torch is not installed.

numpy reference of the operations on 4 ranks: all_gather of [r, r + 0.5] from rank r gives
rows [[0, .5], [1, 1.5], [2, 2.5], [3, 3.5]]; broadcast from rank 2 gives every rank rank 2's
bytes; exchange in a ring (send to r + 1, receive from r - 1) gives rank r the bytes of r - 1.
"""

import os
import pathlib
import subprocess
import sys
import traceback

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch)")
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402

import balancer_world as world  # noqa: E402

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "moe_balancer.py"


def reference_all_gather(num_ranks):
    return np.array([[r, r + 0.5] for r in range(num_ranks)])


def check_operations(comm, rank, num_ranks):
    local = np.array([rank, rank + 0.5])
    local.flags.writeable = False  # as the balancer hands it over
    gathered = np.zeros((num_ranks, 2))
    assert comm.all_gather(local, gathered).wait(30.0) == "done"
    np.testing.assert_array_equal(gathered, reference_all_gather(num_ranks))
    data = np.full(5, rank, np.uint8)
    assert comm.broadcast(data, 2).wait(30.0) == "done"
    assert data.tolist() == [2] * 5
    send = np.full(3, 10 + rank, np.uint8)
    send.flags.writeable = False
    from_prev, from_self = np.zeros(3, np.uint8), np.zeros(3, np.uint8)
    handle = comm.exchange([((rank + 1) % num_ranks, 7, send), (rank, 8, send)],
                           [((rank - 1) % num_ranks, 7, from_prev), (rank, 8, from_self)])
    assert handle.wait(30.0) == "done", handle.error()
    assert from_prev.tolist() == [10 + (rank - 1) % num_ranks] * 3
    assert from_self.tolist() == [10 + rank] * 3
    bad = comm.exchange([], [(rank, 9, np.zeros(2, np.uint8))])  # no matching send to self
    assert bad.poll() == "failed" and "no matching send" in bad.error()


def _rank_main(rank, init_file, queue):
    from eplb.torch_comm import TorchCommunicator

    try:
        dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank,
                                world_size=world.NUM_RANKS)
        torch.set_num_threads(1)
        comm = TorchCommunicator(dist.new_group(backend="gloo"))
        assert comm.backend_name() == "torch.gloo"
        check_operations(comm, rank, world.NUM_RANKS)
        queue.put(world.run_rank(comm, 20))
        dist.destroy_process_group()
    except BaseException:  # noqa: BLE001 - reported to the parent with the rank
        queue.put({"rank": rank, "error": traceback.format_exc()})


def test_reference():
    assert reference_all_gather(2).tolist() == [[0, 0.5], [1, 1.5]]


def test_balancer_over_gloo_processes(tmp_path):
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_rank_main, args=(r, str(tmp_path / "init"), queue))
             for r in range(world.NUM_RANKS)]
    for p in procs:
        p.start()
    results = sorted((queue.get(timeout=240) for _ in procs), key=lambda r: r["rank"])
    for p in procs:
        p.join(timeout=60)
    errors = [r["error"] for r in results if "error" in r]
    assert not errors, errors[0]
    world.check_rebalanced(results)


def test_moe_balancer_example_runs():
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    result = subprocess.run(
        [sys.executable, str(EXAMPLE), "--ranks", "2", "--slots-per-rank", "5", "--steps", "16",
         "--collect", "4", "--tokens", "32", "--dim", "16"],
        capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "layer_committed" in result.stdout
    assert "ok: outputs match the reference without expert parallelism" in result.stdout
