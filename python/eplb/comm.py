"""Handles of Python communicators (subclasses of eplb.Communicator).

A Python communicator's all_gather / broadcast / exchange start an operation without blocking
and return a handle; the balancer polls it from its hooks on the serving thread. A handle is
any object with ``poll() -> str`` and ``wait(timeout: float) -> str`` (and optionally
``error() -> str``), the states being "pending", "done", "failed" and "timed_out" (wait only).
Subclass CommHandle and implement poll(); wait() then polls until the timeout.

Buffers handed to the communicator are numpy views of the balancer's memory: they are valid
while the operation is pending and must not be touched once its handle stops reporting
"pending".
"""

from __future__ import annotations

import time

# How long CommHandle.wait sleeps between polls (seconds).
POLL_INTERVAL_S = 0.0002


class CommHandle:
    """An operation in flight. Subclasses implement poll(); wait() and error() have defaults."""

    def poll(self) -> str:
        """Never blocks: 'pending', 'done' or 'failed'."""
        raise NotImplementedError

    def wait(self, timeout: float) -> str:
        """Polls until the state is not 'pending' or `timeout` seconds passed ('timed_out')."""
        deadline = time.monotonic() + timeout
        while True:
            state = self.poll()
            if state != "pending":
                return state
            if time.monotonic() >= deadline:
                return "timed_out"
            time.sleep(POLL_INTERVAL_S)

    def error(self) -> str:
        """Why the operation failed ('' when it did not)."""
        return ""


class CompletedHandle(CommHandle):
    """A handle of an operation that finished when it was started (synchronous transports)."""

    def __init__(self, state: str = "done", error: str = ""):
        self._state, self._error = state, error

    def poll(self) -> str:
        return self._state

    def error(self) -> str:
        return self._error
