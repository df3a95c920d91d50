"""eplb.Communicator over torch.distributed: the balancer's messages through a process group
(gloo on CPU; any backend with async all_gather, broadcast, isend and irecv).

    import torch.distributed as dist
    from eplb.torch_comm import TorchCommunicator
    dist.init_process_group("gloo", ...)
    comm = TorchCommunicator(dist.new_group(backend="gloo"))  # a group of its own
    balancer = eplb.Balancer(config, comm, store)

How the operations map (all started without blocking; the handle polls Work.is_completed(), or,
for gloo's point-to-point Works, which complete only inside wait(), a thread waiting on them):
  all_gather -> dist.all_gather into the rows of `gathered` [num_ranks, n] (float64)
  broadcast  -> dist.broadcast (uint8)
  exchange   -> dist.irecv for every receive, then dist.isend for every send (uint8); messages
                to oneself are copied at once. Tags must lie in [0, 2**31) (the balancer's are
                (cycle * num_layers + layer) * num_slots + slot).
Give the balancer a process group of its own (dist.new_group) so that its collectives, which
run while the model's are issued, never interleave with them. Collectives are matched by
order: every rank's balancer issues them in the same order (it steps in lockstep).

A Work that is still pending when its handle is dropped (a transfer given up after
transfer_timeout_steps) keeps running; torch.distributed cannot cancel it.
"""

from __future__ import annotations

import threading
import warnings

import numpy as np
import torch
import torch.distributed as dist

from . import _eplb
from .comm import CommHandle, CompletedHandle

MAX_TAG = 2**31


def _tensor(array: np.ndarray) -> torch.Tensor:
    """A torch view of a numpy buffer (no copy), read-only ones included (sends)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "The given NumPy array is not writable"
        return torch.from_numpy(array)


class TorchHandle(CommHandle):
    """Completed when all of its torch.distributed Works are; failed when one raises.

    Collective Works report is_completed() by themselves. Gloo's point-to-point Works only
    complete inside wait(), so for those (waiter=True) a daemon thread waits on them (Work.wait
    releases the GIL) and poll() reads its outcome.
    """

    def __init__(self, works, waiter: bool = False):
        self._works = list(works)
        self._error = ""
        self._done = False
        self._thread = None
        if waiter and self._works:
            self._thread = threading.Thread(target=self._wait_all, daemon=True)
            self._thread.start()

    def _wait_all(self):
        try:
            for w in self._works:
                w.wait()
        except Exception as e:  # noqa: BLE001 - any transport error fails the operation
            self._error = f"torch.distributed: {e}"
            return
        self._done = True

    def poll(self) -> str:
        if self._error:
            return "failed"
        if self._done:
            return "done"
        if self._thread is not None:
            return "pending"  # the waiter thread sets _done or _error
        try:
            if not all(w.is_completed() for w in self._works):
                return "pending"
            for w in self._works:
                w.wait()  # returns at once for a completed Work; raises its error
        except Exception as e:  # noqa: BLE001 - any transport error fails the operation
            self._error = f"torch.distributed: {e}"
            return "failed"
        self._done = True
        return "done"

    def error(self) -> str:
        return self._error


class TorchCommunicator(_eplb.Communicator):
    """This process's rank of `group` (None: the default process group) as an
    eplb.Communicator. Needs torch.distributed initialised."""

    def __init__(self, group=None):
        super().__init__()
        if not dist.is_initialized():
            raise RuntimeError("TorchCommunicator: torch.distributed is not initialised "
                               "(call dist.init_process_group first)")
        self._group = group
        self._rank = dist.get_rank(group)
        self._size = dist.get_world_size(group)

    def rank(self) -> int:
        return self._rank

    def num_ranks(self) -> int:
        return self._size

    def backend_name(self) -> str:
        return "torch." + str(dist.get_backend(self._group))

    def _global(self, group_rank: int) -> int:
        if self._group is None:
            return group_rank
        return dist.get_global_rank(self._group, group_rank)

    def all_gather(self, local: np.ndarray, gathered: np.ndarray) -> CommHandle:
        # local [n] float64 (read-only), gathered [num_ranks, n] float64: row r <- rank r's local.
        rows = list(torch.from_numpy(gathered).unbind(0))
        work = dist.all_gather(rows, _tensor(local).clone(), group=self._group, async_op=True)
        return TorchHandle([work])

    def broadcast(self, data: np.ndarray, root: int) -> CommHandle:
        # data [n] uint8, the same size on every rank.
        work = dist.broadcast(torch.from_numpy(data), src=self._global(root), group=self._group,
                              async_op=True)
        return TorchHandle([work])

    def exchange(self, sends, recvs) -> CommHandle:
        # sends: [(peer, tag, data [n] uint8 read-only)]; recvs: [(peer, tag, data [n] uint8)].
        for _, tag, _ in list(sends) + list(recvs):
            if not 0 <= tag < MAX_TAG:
                raise ValueError(f"exchange: tag {tag} outside [0, 2**31)")
        # Messages to oneself first (copied now), so that a mismatch fails before any post.
        to_self = {}
        for peer, tag, data in sends:
            if peer == self._rank:
                to_self.setdefault(tag, []).append(data)
        for peer, tag, data in recvs:
            if peer != self._rank:
                continue
            queued = to_self.get(tag)
            if not queued or queued[0].size != data.size:
                return CompletedHandle("failed", f"exchange: receive from self, tag {tag}, "
                                                 f"{data.size} bytes: no matching send")
            data[:] = queued.pop(0)
        works = []
        for peer, tag, data in recvs:
            if peer != self._rank:
                works.append(dist.irecv(torch.from_numpy(data), src=self._global(peer),
                                        group=self._group, tag=tag))
        for peer, tag, data in sends:
            if peer != self._rank:
                works.append(dist.isend(_tensor(data), dst=self._global(peer), group=self._group,
                                        tag=tag))
        return TorchHandle(works, waiter=True)
