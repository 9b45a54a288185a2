"""Transport security: TLS / mutual TLS credentials and per-slot vote tokens (docs/design.md,
Sec. 4 Wire protocol (gRPC)).

TLS: the master serves with ``--tls-cert/--tls-key``; given ``--tls-ca`` too it requires every
client to present a certificate signed by that CA (mTLS). Clients verify the master with
``--tls-ca`` and present ``--tls-cert/--tls-key`` for mTLS. A plaintext client cannot complete
the TLS handshake, so it is refused (UNAVAILABLE) before any RPC runs.

Join secret: a per-run secret every client must present to Join (from a flag, a file, an
environment variable or a Kubernetes Secret, like the TLS material); a missing or wrong one is
UNAUTHENTICATED. A master without one refuses to start unless it runs in explicit open mode
(``--open-join``, for local experiments). It admits a client to the run; the token Join hands
out then names the slot.

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
from wire.limits import MAX_JOIN_SECRET_CHARS, MIN_JOIN_SECRET_CHARS, well_formed_token

SECRET_BYTES = 32
JOIN_SECRET_HEX_BYTES = 32  # a created join secret: 32 random bytes as 64 hex digits


def new_secret() -> bytes:
    return os.urandom(SECRET_BYTES)


def join_secret_problem(secret: str) -> str | None:
    """Why ``secret`` cannot be a join secret (None when it can)."""
    if not MIN_JOIN_SECRET_CHARS <= len(secret) <= MAX_JOIN_SECRET_CHARS:
        return f"a join secret has {MIN_JOIN_SECRET_CHARS} to {MAX_JOIN_SECRET_CHARS} characters"
    if not secret.isascii() or not secret.isprintable() or " " in secret:
        return "a join secret is printable ASCII without spaces"
    return None


def load_join_secret(value: str, path: str, *, create: bool = False) -> str:
    """The join secret from ``value`` or the file ``path`` ("" when neither is given).

    With ``create`` a missing file is created first (mode 0600) holding a random secret: a
    master can make the secret its clients then read from a shared volume.
    """
    if value and path:
        raise ConfigError("give the join secret once: --join-secret or --join-secret-file")
    if path:
        file = Path(path)
        if create and not file.exists():
            try:
                fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process made it first
            except OSError as exc:
                raise ConfigError(f"cannot create the join secret file {path!r}: {exc}") from None
            else:
                with os.fdopen(fd, "w") as f:
                    f.write(os.urandom(JOIN_SECRET_HEX_BYTES).hex() + "\n")
        try:
            value = file.read_text().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read the join secret file {path!r}: {exc}") from None
    if value:
        problem = join_secret_problem(value)
        if problem is not None:
            raise ConfigError(f"the join secret is not valid: {problem}")
    return value


PEER_TOKEN_MESSAGE = b"election shard peer"  # what a master shard's peer token signs


def peer_token(join_secret: str) -> str:
    """The credential master shards present to each other (GetShardUpdate): HMAC-SHA256 of a
    fixed message under the run's join secret, 64 hex digits; "" in open mode (no secret)."""
    if not join_secret:
        return ""
    return hmac.new(join_secret.encode(), PEER_TOKEN_MESSAGE, hashlib.sha256).hexdigest()


def join_secret_matches(expected: str, presented: str) -> bool:
    """Constant-time comparison as bytes (any presented string, even non-ASCII, is safe)."""
    if len(presented) > MAX_JOIN_SECRET_CHARS:
        return False
    return hmac.compare_digest(expected.encode(), presented.encode("utf-8", "replace"))


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


def open_channel(target: str, tls: TlsFiles, *, server_name: str = "") -> grpc.Channel:
    """A client channel to ``target`` with the project's options: TLS (and the client
    certificate for mTLS) when ``tls`` has files, plaintext otherwise."""
    from wire.options import channel_options

    creds = channel_credentials(tls)
    options = channel_options(server_name=server_name or None)
    if creds is None:
        return grpc.insecure_channel(target, options=options)
    return grpc.secure_channel(target, creds, options=options)


def channel_credentials(tls: TlsFiles) -> grpc.ChannelCredentials | None:
    """None for plaintext; verifies the master with ``ca`` and presents ``cert`` for mTLS."""
    if not tls.enabled:
        return None
    return grpc.ssl_channel_credentials(
        root_certificates=_read(tls.ca) if tls.ca else None,
        private_key=_read(tls.key) if tls.key else None,
        certificate_chain=_read(tls.cert) if tls.cert else None,
    )
