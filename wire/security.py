"""Transport security: TLS / mutual TLS credentials and per-slot vote tokens (DESIGN.md Sec. 4).

TLS: the master serves with ``--tls-cert/--tls-key``; given ``--tls-ca`` too it requires every
client to present a certificate signed by that CA (mTLS). Clients verify the master with
``--tls-ca`` and present ``--tls-cert/--tls-key`` for mTLS. A plaintext client cannot complete
the TLS handshake, so it is refused (UNAVAILABLE) before any RPC runs.

Tokens: ``token(slot) = HMAC-SHA256(secret, run_id || ":" || slot)`` in hex. Join hands a slot
its token; every vote, update and snapshot request carries it, and it is checked before anything
else. A missing, malformed (anything but 64 lowercase hex digits, e.g. non-ASCII) or unknown
token is UNAUTHENTICATED; the valid token of another slot is PERMISSION_DENIED (one worker
voting for another). The secret is random per run and kept in the master's checkpoint, so
tokens survive a master restart.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path

import grpc

from election.errors import ConfigError
from wire.errors import BadSlot, Unauthenticated, WrongSlotToken
from wire.limits import well_formed_token

SECRET_BYTES = 32


def new_secret() -> bytes:
    return os.urandom(SECRET_BYTES)


@dataclass(frozen=True)
class SlotTokens:
    """Issues and checks the per-slot tokens of one run."""

    secret: bytes
    run_id: str
    n_slots: int

    def __post_init__(self) -> None:
        if len(self.secret) < 16:
            raise ConfigError(f"token secret of {len(self.secret)} B must be at least 16 B")

    def issue(self, slot: int) -> str:
        msg = f"{self.run_id}:{slot}".encode()
        return hmac.new(self.secret, msg, hashlib.sha256).hexdigest()

    def owner(self, token: str) -> int | None:
        """The slot whose token ``token`` is, or None (malformed or unknown: never raises).

        Compared as bytes in constant time per slot, so a non-ASCII or oversized string is
        just an unknown token.
        """
        if not well_formed_token(token):
            return None
        presented = token.encode("ascii")
        found = None
        for slot in range(self.n_slots):
            if hmac.compare_digest(self.issue(slot).encode("ascii"), presented):
                found = slot
        return found

    def check(self, slot: int, token: str) -> None:
        """Authenticate first: Unauthenticated unless ``token`` is some slot's token; then
        BadSlot when ``slot`` is outside [0, n), WrongSlotToken when it is another slot's."""
        owner = self.owner(token)
        if owner is None:
            raise Unauthenticated(f"missing, malformed or unknown token for slot {slot}")
        if not 0 <= slot < self.n_slots:
            raise BadSlot(f"slot {slot} is outside [0, {self.n_slots})")
        if owner != slot:
            raise WrongSlotToken(f"the token presented for slot {slot} is another slot's")


@dataclass(frozen=True)
class TlsFiles:
    """PEM paths; all empty = plaintext. cert+key without ca = TLS; with ca = mutual TLS."""

    cert: str = ""
    key: str = ""
    ca: str = ""

    def __post_init__(self) -> None:
        if bool(self.cert) != bool(self.key):
            raise ConfigError("--tls-cert and --tls-key must be given together")
        for name in ("cert", "key", "ca"):
            path = getattr(self, name)
            if path and not Path(path).is_file():
                raise ConfigError(f"--tls-{name}={path!r} is not a readable file")

    @property
    def enabled(self) -> bool:
        return bool(self.cert or self.ca)


def _read(path: str) -> bytes:
    return Path(path).read_bytes()


def server_credentials(tls: TlsFiles) -> grpc.ServerCredentials | None:
    """None for plaintext; mTLS (client certificates required) when a CA is given."""
    if not tls.cert:
        if tls.ca:
            raise ConfigError("the master needs --tls-cert and --tls-key to serve TLS")
        return None
    return grpc.ssl_server_credentials(
        [(_read(tls.key), _read(tls.cert))],
        root_certificates=_read(tls.ca) if tls.ca else None,
        require_client_auth=bool(tls.ca),
    )


def channel_credentials(tls: TlsFiles) -> grpc.ChannelCredentials | None:
    """None for plaintext; verifies the master with ``ca`` and presents ``cert`` for mTLS."""
    if not tls.enabled:
        return None
    return grpc.ssl_channel_credentials(
        root_certificates=_read(tls.ca) if tls.ca else None,
        private_key=_read(tls.key) if tls.key else None,
        certificate_chain=_read(tls.cert) if tls.cert else None,
    )
