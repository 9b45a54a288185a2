"""Protocol limits every client and the master agree on (stated in the proto and docs/grpc.md).

String fields a client sends are bounded; a credential that cannot be valid (a token that is
not 64 lowercase hex digits, a join secret of the wrong size) is UNAUTHENTICATED, any other
field over its bound is INVALID_ARGUMENT ``field_too_long``. Vote payload sizes follow from the
layout (docs/vote_layout.md): every valid encoding of d coordinates is accepted, so the largest
vote is an INDICES vote listing every coordinate, ceil(d/8) + 4 d bytes.

Untrusted text that reaches a log line or a status message goes through :func:`clip`: escaped
(``repr``) and cut to a bounded length.
"""

from __future__ import annotations

import string

from wire.errors import FieldTooLong

TOKEN_CHARS = 64  # a slot token: HMAC-SHA256 as 64 lowercase hex digits
MAX_RUN_ID_CHARS = 64  # run ids: [A-Za-z0-9._-], at most this long
MAX_NAME_CHARS = 256  # JoinRequest.worker_name (Kubernetes pod names are <= 253)
MIN_JOIN_SECRET_CHARS = 16  # a join secret shorter than this is refused at start
MAX_JOIN_SECRET_CHARS = 256  # JoinRequest.join_secret
CLIP_CHARS = 80  # untrusted text in a log line or status detail: at most this many characters
RUN_ID_ALPHABET = frozenset(string.ascii_letters + string.digits + "._-")
_HEX = frozenset("0123456789abcdef")


def clip(text: str, limit: int = CLIP_CHARS) -> str:
    """``repr`` of at most ``limit`` characters of untrusted text, saying how much was cut."""
    cut = len(text) - limit
    shown = repr(text[:limit]) if cut > 0 else repr(text)
    return f"{shown}+{cut} chars" if cut > 0 else shown


def well_formed_token(token: str) -> bool:
    """64 lowercase hex digits (what Join hands out); anything else can never be valid."""
    return len(token) == TOKEN_CHARS and set(token) <= _HEX


def check_length(field: str, value: str, limit: int) -> None:
    """Raise FieldTooLong when ``value`` has more than ``limit`` characters."""
    if len(value) > limit:
        raise FieldTooLong(f"{field} has {len(value)} characters, the limit is {limit}")


def run_id_problem(run_id: str) -> str | None:
    """Why ``run_id`` is not a valid run id (None when it is)."""
    if not 1 <= len(run_id) <= MAX_RUN_ID_CHARS:
        return f"must have 1 to {MAX_RUN_ID_CHARS} characters"
    if not set(run_id) <= RUN_ID_ALPHABET:
        return "may only use letters, digits, '.', '_' and '-'"
    return None


def max_packed_nbytes(dim: int) -> int:
    """The largest valid PACKED_TERNARY payload: ceil(d/8) sign bytes + 4 bytes per coordinate.

    That is an INDICES vote listing all d coordinates as zeros; NONE is ceil(d/8) bytes and
    MASK 2 * ceil(d/8), both smaller for every d >= 1.
    """
    return (dim + 7) // 8 + 4 * dim
