"""Service settings from flags and ``ELECTION_*`` environment variables (for containers).

Precedence: an explicit flag > the environment variable > the default. Only the service entry
points call :func:`resolve`; nothing deeper reads ``os.environ``.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from election.errors import ConfigError

MAX_PORT = 65535  # TCP ports are 16-bit
Check = Callable[[Any], str | None]  # a value -> why it is invalid, or None


@dataclass(frozen=True)
class Setting:
    flag: str  # "--round-timeout"
    env: str  # "ELECTION_ROUND_TIMEOUT"
    default: Any
    kind: Callable[[str], Any]
    help: str
    check: Check | None = None  # rule the converted value must pass (one-line error otherwise)

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


def add_settings(group: Any, settings: tuple[Setting, ...]) -> None:
    for s in settings:
        text = f"{s.help} [env {s.env}, default {s.default!r}]"
        if s.kind is flag_value:  # an on/off switch: the flag alone turns it on
            group.add_argument(
                s.flag, dest=s.dest, default=None, action="store_const", const="1", help=text
            )
        else:
            group.add_argument(s.flag, dest=s.dest, default=None, help=text)


def resolve(
    args: argparse.Namespace, settings: tuple[Setting, ...], env: Mapping[str, str]
) -> dict[str, Any]:
    """dest -> value, converted with the setting's kind; bad values raise ConfigError."""
    out: dict[str, Any] = {}
    for s in settings:
        raw = getattr(args, s.dest, None)
        source = s.flag
        if raw is None and env.get(s.env, "") != "":
            raw, source = env[s.env], s.env
        if raw is None:
            out[s.dest] = s.default
            continue
        try:
            value = s.kind(raw)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{source}={raw!r} is not a valid value: {exc}") from None
        problem = s.check(value) if s.check is not None else None
        if problem is not None:
            raise ConfigError(f"{source}={raw!r} is not a valid value: {problem}")
        out[s.dest] = value
    return out


# --- checks (each returns why a value is invalid, or None) ---------------------------------


def port(*, allow_zero: bool = False, allow_off: bool = False) -> Check:
    """A TCP port in [1, 65535]; 0 (any free port) and -1 (off) only where allowed."""
    low = -1 if allow_off else 0 if allow_zero else 1
    extra = " (-1 = off, 0 = any free port)" if allow_off else " (0 = any free port)" * allow_zero

    def check(value: int) -> str | None:
        if low <= value <= MAX_PORT:
            return None
        return f"a port must be in [{low}, {MAX_PORT}]{extra}"

    return check


def seconds(*, minimum: float = 0.0, strict: bool = False) -> Check:
    """A finite number of seconds, > minimum (strict) or >= minimum."""

    def check(value: float) -> str | None:
        if not math.isfinite(value):
            return "must be a finite number of seconds"
        if value < minimum or (strict and value == minimum):
            return f"must be {'>' if strict else '>='} {minimum:g} seconds"
        return None

    return check


def at_least(minimum: int) -> Check:
    def check(value: int) -> str | None:
        return None if value >= minimum else f"must be >= {minimum}"

    return check


def writable_file(path: str) -> str | None:
    """'' (off) or a file name whose folder exists."""
    if path and not Path(path).expanduser().resolve().parent.is_dir():
        return f"the folder of {path!r} does not exist"
    return None


def host(value: str) -> str | None:
    if not value or any(c.isspace() for c in value) or len(value) > 253:
        return "must be a host name or address (no spaces, at most 253 characters)"
    return None


def flag_value(text: str) -> bool:
    """1/true/yes/on -> True, 0/false/no/off -> False (flags and environment variables)."""
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("use 1/0, true/false, yes/no or on/off")


JOIN_SECRET_SETTINGS = (
    Setting(
        "--join-secret",
        "ELECTION_JOIN_SECRET",
        "",
        str,
        "the run's join secret (prefer the file or the variable: command lines are visible)",
    ),
    Setting(
        "--join-secret-file",
        "ELECTION_JOIN_SECRET_FILE",
        "",
        str,
        "file holding the run's join secret (e.g. a mounted Kubernetes Secret)",
    ),
)

TLS_SETTINGS = (
    Setting("--tls-cert", "ELECTION_TLS_CERT", "", str, "PEM certificate of this service"),
    Setting("--tls-key", "ELECTION_TLS_KEY", "", str, "PEM private key of --tls-cert"),
    Setting(
        "--tls-ca",
        "ELECTION_TLS_CA",
        "",
        str,
        "PEM CA: the master requires client certificates signed by it (mTLS); "
        "clients verify the master with it",
    ),
)
