"""Service settings from flags and ``ELECTION_*`` environment variables (for containers).

Each service role has ONE typed, frozen config (``master.config.MasterConfig``,
``worker.config.WorkerConfig``, ``adversary.config.AdversaryConfig``); its fields are declared
with :func:`setting` (flag, help, rule) and carry the only default. :func:`settings_of` turns a
config class into its flags and ``ELECTION_*`` variables, :func:`config_from` resolves them into
an instance. Precedence: an explicit flag > the environment variable > the default. Only the
service entry points pass ``os.environ`` in; nothing deeper reads it.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar

from election.errors import ConfigError

MAX_PORT = 65535  # TCP ports are 16-bit
Check = Callable[[Any], str | None]  # a value -> why it is invalid, or None
ENV_PREFIX = "ELECTION_"  # every service variable is ELECTION_<FLAG NAME>
C = TypeVar("C")


@dataclass(frozen=True)
class Setting:
    flag: str  # "--round-deadline"
    env: str  # "ELECTION_ROUND_DEADLINE"
    default: Any
    kind: Callable[[str], Any]
    help: str
    check: Check | None = None  # rule the converted value must pass (one-line error otherwise)
    field_name: str = ""  # the config field it fills ("" = the flag's name with underscores)
    fallback_env: tuple[str, ...] = ()  # variables read when ``env`` is unset (e.g. HOSTNAME)

    @property
    def dest(self) -> str:
        return self.field_name or self.flag.lstrip("-").replace("-", "_")


def setting(
    flag: str,
    default: Any,
    help: str,
    check: Check | None = None,
    *,
    kind: Callable[[str], Any] | None = None,
    env: str = "",
    fallback_env: tuple[str, ...] = (),
    secret: bool = False,
) -> Any:
    """A config field that is also a flag and an ``ELECTION_*`` variable (its only default).

    ``kind`` converts the text of a flag or variable (default: the type of ``default``; bools
    are on/off switches); ``env`` defaults to ELECTION_ + the flag's name in capitals;
    ``secret`` keeps the value out of the config's repr.
    """
    convert = kind or (flag_value if isinstance(default, bool) else type(default))
    name = env or ENV_PREFIX + flag.lstrip("-").replace("-", "_").upper()
    spec = Setting(flag, name, default, convert, help, check, fallback_env=fallback_env)
    if isinstance(default, tuple | list | dict):
        return field(default_factory=lambda: default, metadata={"setting": spec})
    return field(default=default, repr=not secret, metadata={"setting": spec})


def settings_of(config_class: type) -> tuple[Setting, ...]:
    """The flags and variables of a role config, in field order (fields without one skipped)."""
    out = []
    for f in fields(config_class):
        spec = f.metadata.get("setting")
        if spec is not None:
            default = f.default if f.default is not MISSING else spec.default
            out.append(replace(spec, default=default, field_name=f.name))
    return tuple(out)


# Variables that no role reads any more, and what replaced them: a deployment that still sets
# one gets a one-line error instead of a silently ignored value.
RETIRED_VARIABLES = {
    "ELECTION_ROUND_TIMEOUT": "ELECTION_ROUND_DEADLINE (master: when a missing vote abstains) "
    "and ELECTION_POLL_TIMEOUT (worker: one GetUpdate long poll)",
}


def check_retired(env: Mapping[str, str]) -> None:
    """ConfigError when ``env`` sets a retired variable (RETIRED_VARIABLES)."""
    for name, replacement in RETIRED_VARIABLES.items():
        if env.get(name, "") != "":
            raise ConfigError(f"{name} is no longer read; it was split into {replacement}")


def config_from(
    config_class: type[C], args: argparse.Namespace, env: Mapping[str, str], **fixed: Any
) -> C:
    """The role config from flags > variables > defaults (bad values raise ConfigError)."""
    values = resolve(args, settings_of(config_class), env)
    return config_class(**(values | fixed))


def add_settings(group: Any, settings: tuple[Setting, ...]) -> None:
    for s in settings:
        text = f"{s.help} [env {s.env}, default {s.default!r}]"
        if s.kind is flag_value:  # an on/off switch: the flag alone turns it on
            group.add_argument(
                s.flag, dest=s.dest, default=None, action="store_const", const="1", help=text
            )
        else:
            metavar = s.flag.lstrip("-").replace("-", "_").upper()
            group.add_argument(s.flag, dest=s.dest, default=None, metavar=metavar, help=text)


def resolve(
    args: argparse.Namespace, settings: tuple[Setting, ...], env: Mapping[str, str]
) -> dict[str, Any]:
    """dest -> value, converted with the setting's kind; bad values raise ConfigError."""
    out: dict[str, Any] = {}
    for s in settings:
        raw = getattr(args, s.dest, None)
        source = s.flag
        for name in (s.env, *s.fallback_env):
            if raw is None and env.get(name, "") != "":
                raw, source = env[name], name
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


@dataclass(frozen=True)
class PeerSecurity:
    """The run's join secret and the TLS files: fields every role config starts with."""

    join_secret: str = setting(
        "--join-secret",
        "",
        "the run's join secret (prefer the file or the variable: command lines are visible)",
        secret=True,
    )
    join_secret_file: str = setting(
        "--join-secret-file", "", "file holding the run's join secret (e.g. a mounted Secret)"
    )
    tls_cert: str = setting("--tls-cert", "", "PEM certificate of this service")
    tls_key: str = setting("--tls-key", "", "PEM private key of --tls-cert")
    tls_ca: str = setting(
        "--tls-ca",
        "",
        "PEM CA: the master requires client certificates signed by it (mTLS); "
        "clients verify the master with it",
    )

    def tls_files(self) -> Any:
        """These settings as :class:`wire.security.TlsFiles` (imported here: it needs grpc)."""
        from wire.security import TlsFiles

        return TlsFiles(self.tls_cert, self.tls_key, self.tls_ca)
