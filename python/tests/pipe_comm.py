"""A test double of a Python eplb.Communicator: ranks joined pairwise by multiprocessing Pipes
(socketpairs), usable by threads of one process or by separate processes. It exercises the
Python-subclass path of eplb.Communicator (the nanobind trampoline) without torch or MPI;
real deployments use eplb.torch_comm.TorchCommunicator.

Messages are (key, bytes) pickled tuples: key ("c", generation) for collectives (matched by
call order, as the balancer's are) and ("p", tag) for exchange(). A receiver thread per rank
drains every pipe into a mailbox, so a send never waits for the peer's serving thread.
"""

from __future__ import annotations

import collections
import itertools
import multiprocessing
import multiprocessing.connection
import threading

import numpy as np

import eplb


def make_pipes(num_ranks: int, ctx=multiprocessing):
    """conns[r] = {peer: rank r's end of the pipe r <-> peer} for every rank r."""
    conns = [dict() for _ in range(num_ranks)]
    for a, b in itertools.combinations(range(num_ranks), 2):
        conns[a][b], conns[b][a] = ctx.Pipe(duplex=True)
    return conns


class _RecvHandle(eplb.CommHandle):
    """Done when a message has arrived for every (peer, key, out) and been copied into out."""

    def __init__(self, comm: "PipeCommunicator", pending):
        self._comm, self._pending, self._error = comm, list(pending), ""

    def poll(self) -> str:
        if self._error:
            return "failed"
        still = []
        for peer, key, out in self._pending:
            payload = self._comm.take(peer, key)
            if payload is None:
                still.append((peer, key, out))
            elif len(payload) != out.nbytes:
                self._error = f"{key} from rank {peer}: {len(payload)} bytes, {out.nbytes} expected"
                return "failed"
            else:
                out[...] = np.frombuffer(payload, dtype=out.dtype).reshape(out.shape)
        self._pending = still
        return "pending" if still else "done"

    def error(self) -> str:
        return self._error


class PipeCommunicator(eplb.Communicator):
    """Rank `rank` of a world joined by `conns` ({peer: Connection}, from make_pipes)."""

    def __init__(self, rank: int, conns):
        super().__init__()
        self._rank, self._conns = rank, dict(conns)
        self._mail = collections.defaultdict(collections.deque)  # (peer, key) -> payloads
        self._lock = threading.Lock()
        self._generation = 0
        self._stop_reader, self._stop_writer = multiprocessing.Pipe(duplex=False)
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def rank(self) -> int:
        return self._rank

    def num_ranks(self) -> int:
        return len(self._conns) + 1

    def backend_name(self) -> str:
        return "pipe"

    def close(self):
        """Stops the receiver thread and closes the pipes."""
        self._stop_writer.send(None)
        self._thread.join()
        for conn in [*self._conns.values(), self._stop_reader, self._stop_writer]:
            conn.close()

    def take(self, peer: int, key):
        with self._lock:
            queue = self._mail.get((peer, key))
            return queue.popleft() if queue else None

    def _receive(self):
        peer_of = {conn: peer for peer, conn in self._conns.items()}
        live = list(peer_of)
        while True:
            for conn in multiprocessing.connection.wait([*live, self._stop_reader]):
                if conn is self._stop_reader:
                    return
                try:
                    key, payload = conn.recv()
                except (EOFError, OSError):
                    live.remove(conn)
                    continue
                with self._lock:
                    self._mail[(peer_of[conn], key)].append(payload)

    def _send(self, peer: int, key, data: np.ndarray):
        self._conns[peer].send((key, data.tobytes()))

    def _next_collective(self):
        self._generation += 1
        return ("c", self._generation)

    def all_gather(self, local, gathered):
        key = self._next_collective()
        for peer in self._conns:
            self._send(peer, key, local)
        gathered[self._rank] = local
        return _RecvHandle(self, [(p, key, gathered[p]) for p in self._conns])

    def broadcast(self, data, root):
        key = self._next_collective()
        if self._rank == root:
            for peer in self._conns:
                self._send(peer, key, data)
            return eplb.CompletedHandle()
        return _RecvHandle(self, [(root, key, data)])

    def exchange(self, sends, recvs):
        to_self = collections.defaultdict(collections.deque)
        for peer, tag, data in sends:
            if peer == self._rank:
                to_self[tag].append(data)
            else:
                self._send(peer, ("p", tag), data)
        pending = []
        for peer, tag, data in recvs:
            if peer == self._rank:
                data[...] = to_self[tag].popleft()
            else:
                pending.append((peer, ("p", tag), data))
        return _RecvHandle(self, pending)
