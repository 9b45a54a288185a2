"""Service settings from flags and ``ELECTION_*`` environment variables (for containers).

Precedence: an explicit flag > the environment variable > the default. Only the service entry
points call :func:`resolve`; nothing deeper reads ``os.environ``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from election.errors import ConfigError


@dataclass(frozen=True)
class Setting:
    flag: str  # "--round-timeout"
    env: str  # "ELECTION_ROUND_TIMEOUT"
    default: Any
    kind: Callable[[str], Any]
    help: str

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


def add_settings(group: Any, settings: tuple[Setting, ...]) -> None:
    for s in settings:
        group.add_argument(
            s.flag, dest=s.dest, default=None, help=f"{s.help} [env {s.env}, default {s.default!r}]"
        )


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
            out[s.dest] = s.kind(raw)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{source}={raw!r} is not a valid value: {exc}") from None
    return out


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
