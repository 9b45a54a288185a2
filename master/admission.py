"""Concurrency caps of the master's streams: nothing a peer opens can starve other clients.

The gRPC server is asynchronous (:mod:`master.server`): a stream that sends nothing costs a
coroutine, not a thread, and is bounded in time (``upload_idle_s`` between messages,
``upload_total_s`` in all). On top of that every kind of stream is capped by count; a stream
over a cap is refused at once with RESOURCE_EXHAUSTED ``too_many_streams``:

    uploads_per_peer          SubmitVote streams open on one connection (context.peer())
    unauthenticated_streams   SubmitVote streams of all peers still waiting for their first
                              message (which carries the credentials)
    uploads_per_slot          authenticated SubmitVote streams of one slot
    polls_per_slot            GetUpdate long polls of one slot
    snapshots_per_slot        GetSnapshot streams of one slot

A ticket is released when its stream ends, or, when the stream is cancelled while the master
still works for it on a thread (decoding a vote, building a snapshot), when that work ends:
cancelling and retrying cannot queue unbounded work.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Hashable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from wire.errors import TooManyStreams


@dataclass(frozen=True)
class StreamLimits:
    """Caps and time bounds of client streams (docs/grpc.md, "Limits")."""

    uploads_per_peer: int = 8  # an honest worker uploads one vote at a time
    unauthenticated_streams: int = 256  # all peers together, before the first message
    uploads_per_slot: int = 2  # a vote and its retry while the first one times out
    polls_per_slot: int = 2  # a long poll and its retry
    snapshots_per_slot: int = 1  # a resync at a time
    upload_idle_s: float = 10.0  # longest wait for the next message of an upload
    upload_total_s: float = 120.0  # longest a whole upload may take (2.9 MB at >= 0.2 Mbit/s)


class Ticket:
    """One admitted stream; releasing twice is harmless."""

    def __init__(self, admission: Admission, key: Hashable) -> None:
        self._admission = admission
        self._key = key
        self._held = True
        self._deferred = False

    def release(self) -> None:
        if self._held:
            self._held = False
            self._admission._release(self._key)

    def hold_until(self, work: Future[Any] | Any) -> None:
        """Keep the ticket until ``work`` (a future) is done, then release it."""
        self._deferred = True
        work.add_done_callback(lambda _: self.release())

    def __enter__(self) -> Ticket:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._deferred:
            self.release()


class Admission:
    """Counts open streams per (kind, key); thread-safe."""

    def __init__(self, limits: StreamLimits) -> None:
        self.limits = limits
        self._open: Counter[Hashable] = Counter()
        self._lock = threading.Lock()

    def enter(self, kind: str, key: Hashable, cap: int, what: str) -> Ticket:
        """A ticket for one more ``kind`` stream of ``key``; TooManyStreams beyond ``cap``."""
        full_key = (kind, key)
        with self._lock:
            if self._open[full_key] >= cap:
                raise TooManyStreams(f"{what} already has {cap} open {kind} stream(s)")
            self._open[full_key] += 1
        return Ticket(self, full_key)

    def open_count(self, kind: str, key: Hashable) -> int:
        with self._lock:
            return self._open[(kind, key)]

    def _release(self, key: Hashable) -> None:
        with self._lock:
            self._open[key] -= 1
            if self._open[key] <= 0:
                del self._open[key]
