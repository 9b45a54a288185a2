"""The protocol error family: why the master refused a message.

Each class names a ``reason`` (the label under which the master counts and logs the rejection)
and the gRPC status ``code`` it is answered with; the servicer maps them in one helper and the
status details start with ``"<reason>: "`` so clients can tell reasons apart. Pure Python: no
grpc import here.

    reason           code                 when
    malformed        INVALID_ARGUMENT     header or payload breaks the layout
    bad_slot         INVALID_ARGUMENT     slot outside [0, n)
    wrong_length     INVALID_ARGUMENT     payload has the wrong number of coordinates / bytes
    oversized        RESOURCE_EXHAUSTED   payload larger than declared or than the limit
    no_free_slot     RESOURCE_EXHAUSTED   Join "any" when every slot is taken
    wrong_run        FAILED_PRECONDITION  run id of another run (or an old run)
    stale_round      FAILED_PRECONDITION  round already closed (resync)
    future_round     FAILED_PRECONDITION  round not open yet
    finished         FAILED_PRECONDITION  the run is over
    duplicate        ALREADY_EXISTS       this slot already voted this round (replay)
    unauthenticated  UNAUTHENTICATED      missing, malformed or unknown token or join secret
    wrong_slot       PERMISSION_DENIED    a valid token of another slot
    field_too_long   INVALID_ARGUMENT     a string field over its bound (wire.limits)
    too_many_streams RESOURCE_EXHAUSTED   over a concurrency cap (per slot, per peer, in all)
    slow_stream      DEADLINE_EXCEEDED    a stream idle or open longer than the master allows
    undecodable      INVALID_ARGUMENT     bytes that are not a protobuf message of the RPC's type

Reasons the master counts but gRPC (not the master) answers, so that every refused upload is
counted once under what its client was told (GRPC_REASONS):

    stream_cancelled   CANCELLED            the client cancelled its upload, or
                       RESOURCE_EXHAUSTED   it sent one message over the gRPC limit (8 MiB):
                                            gRPC cancels that call itself, and the server API
                                            shows both endings identically, so both count here
    deadline_exceeded  DEADLINE_EXCEEDED    the client's own deadline passed mid-upload
"""

from __future__ import annotations


class ProtocolError(Exception):
    """Base: a message the master refuses. Never corrupts state; the caller may retry."""

    reason = "protocol"
    code = "INTERNAL"


class MalformedMessage(ProtocolError):
    reason, code = "malformed", "INVALID_ARGUMENT"


class BadSlot(ProtocolError):
    reason, code = "bad_slot", "INVALID_ARGUMENT"


class WrongLength(ProtocolError):
    reason, code = "wrong_length", "INVALID_ARGUMENT"


class PayloadTooLarge(ProtocolError):
    reason, code = "oversized", "RESOURCE_EXHAUSTED"


class NoFreeSlot(ProtocolError):
    reason, code = "no_free_slot", "RESOURCE_EXHAUSTED"


class WrongRun(ProtocolError):
    reason, code = "wrong_run", "FAILED_PRECONDITION"


class StaleRound(ProtocolError):
    reason, code = "stale_round", "FAILED_PRECONDITION"


class FutureRound(ProtocolError):
    reason, code = "future_round", "FAILED_PRECONDITION"


class RunFinished(ProtocolError):
    reason, code = "finished", "FAILED_PRECONDITION"


class DuplicateVote(ProtocolError):
    reason, code = "duplicate", "ALREADY_EXISTS"


class Unauthenticated(ProtocolError):
    reason, code = "unauthenticated", "UNAUTHENTICATED"


class WrongSlotToken(ProtocolError):
    reason, code = "wrong_slot", "PERMISSION_DENIED"


class FieldTooLong(ProtocolError):
    reason, code = "field_too_long", "INVALID_ARGUMENT"


class TooManyStreams(ProtocolError):
    reason, code = "too_many_streams", "RESOURCE_EXHAUSTED"


class SlowStream(ProtocolError):
    reason, code = "slow_stream", "DEADLINE_EXCEEDED"


class Undecodable(ProtocolError):
    reason, code = "undecodable", "INVALID_ARGUMENT"


ALL_ERRORS: tuple[type[ProtocolError], ...] = (
    MalformedMessage,
    BadSlot,
    WrongLength,
    PayloadTooLarge,
    NoFreeSlot,
    WrongRun,
    StaleRound,
    FutureRound,
    RunFinished,
    DuplicateVote,
    Unauthenticated,
    WrongSlotToken,
    FieldTooLong,
    TooManyStreams,
    SlowStream,
    Undecodable,
)
GRPC_REASONS: dict[str, tuple[str, ...]] = {  # reason -> the codes gRPC itself answers with
    "stream_cancelled": ("CANCELLED", "RESOURCE_EXHAUSTED"),
    "deadline_exceeded": ("DEADLINE_EXCEEDED",),
}
REASONS = tuple(e.reason for e in ALL_ERRORS) + tuple(GRPC_REASONS)


def details(error: ProtocolError) -> str:
    """The status details string: ``"<reason>: <message>"``."""
    return f"{error.reason}: {error}"


def reason_of(details_text: str | None) -> str:
    """The reason a status details string starts with (``"unknown"`` if none)."""
    head = (details_text or "").split(":", 1)[0].strip()
    return head if head in REASONS else "unknown"


def told_reason(code: str, details_text: str | None) -> str:
    """The reason a client was told: the master's ``"<reason>: "`` prefix, else gRPC's own."""
    reason = reason_of(details_text)
    if reason != "unknown":
        return reason
    for grpc_reason, codes in GRPC_REASONS.items():
        if code in codes:
            return grpc_reason
    return "unknown"
