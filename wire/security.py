"""Transport security: TLS / mutual TLS credentials and per-slot vote tokens (DESIGN.md Sec. 4).

TLS: the master serves with ``--tls-cert/--tls-key``; given ``--tls-ca`` too it requires every
client to present a certificate signed by that CA (mTLS). Clients verify the master with
``--tls-ca`` and present ``--tls-cert/--tls-key`` for mTLS. A plaintext client cannot complete
the TLS handshake, so it is refused (UNAVAILABLE) before any RPC runs.

Tokens: ``token(slot) = HMAC-SHA256(secret, run_id || ":" || slot)`` in hex. Join hands a slot
its token; every vote, update and snapshot request carries it. A missing or unknown token is
UNAUTHENTICATED; the valid token of another slot is PERMISSION_DENIED (one worker voting for
another). The secret is random per run and kept in the master's checkpoint, so tokens survive
a master restart.
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

    def check(self, slot: int, token: str) -> None:
        """Raise BadSlot, Unauthenticated or WrongSlotToken unless ``token`` is ``slot``'s."""
        if not 0 <= slot < self.n_slots:
            raise BadSlot(f"slot {slot} is outside [0, {self.n_slots})")
        if hmac.compare_digest(self.issue(slot), token):
            return
        for other in range(self.n_slots):
            if other != slot and hmac.compare_digest(self.issue(other), token):
                raise WrongSlotToken(f"the token presented for slot {slot} is another slot's")
        raise Unauthenticated(f"missing or unknown token for slot {slot}")


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
