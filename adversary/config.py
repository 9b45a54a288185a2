"""The adversary role's one typed config: what a Byzantine client sends on top of the worker's
connection settings (:class:`worker.config.WorkerConfig`); each field is a flag and an
ELECTION_* variable with its only default (docs/grpc.md, "Settings").
"""

from __future__ import annotations

from dataclasses import dataclass

from wire.flags import at_least, setting


def parse_faults(text: str) -> tuple[str, ...]:
    """``a,b`` -> ("a", "b"); ``all`` -> every fault of :mod:`adversary.faults`; ``none`` -> ()."""
    from adversary.faults import EXPECTED_CODES

    names = tuple(f.strip() for f in text.split(",") if f.strip() and f.strip() != "none")
    if names == ("all",):
        return tuple(EXPECTED_CODES)
    for name in names:
        if name not in EXPECTED_CODES:
            raise ValueError(f"unknown fault {name!r}; known: all, {', '.join(EXPECTED_CODES)}")
    return names


@dataclass(frozen=True)
class AdversaryConfig:
    """The attack and the malformed traffic of one adversary."""

    attack: str = setting("--attack", "", "core attack name ('' = the run's attack)")
    fault: tuple[str, ...] = setting(
        "--fault",
        (),
        "malformed traffic per round: comma-separated faults or 'all'",
        kind=parse_faults,
    )
    fault_repeat: int = setting("--fault-repeat", 1, "copies of each fault per round", at_least(0))
