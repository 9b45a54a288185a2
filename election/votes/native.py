"""The optional native module ``election.votes._planes`` and the choice of executor.

``pip install`` compiles election/votes/_planes.c when a C compiler is present (setup.py marks
it optional); without it every caller uses the numpy implementation of the same operation.
Both are tested bit for bit against naive references. ELECTION_VOTE_EXECUTOR=native|numpy
forces one (read by the CLI entry point, :func:`use_executor`; ``auto``, the default, takes
native when built).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Literal

from election.errors import VoteFormatError


def _load() -> ModuleType | None:
    try:
        return importlib.import_module("election.votes._planes")
    except ImportError:  # built without a C compiler
        return None


planes = _load()  # the C module: threshold, mask_to_indices, indices_to_mask

Executor = Literal["auto", "native", "numpy"]
EXECUTORS: tuple[Executor, ...] = ("auto", "native", "numpy")
NATIVE_AVAILABLE = planes is not None


default_executor: Executor = "auto"  # what ``auto`` means; entry points set it (use_executor)


def use_executor(name: str, *, source: str = "ELECTION_VOTE_EXECUTOR") -> None:
    """Make ``name`` the executor ``auto`` resolves to (the CLI passes ELECTION_VOTE_EXECUTOR);
    a bad name, or ``native`` where it is not built, raises VoteFormatError now."""
    global default_executor
    if name not in EXECUTORS:
        raise VoteFormatError(f"{source}={name!r}; expected one of {', '.join(EXECUTORS)}")
    default_executor = name  # type: ignore[assignment]
    resolve_executor()


def resolve_executor(executor: Executor = "auto") -> Literal["native", "numpy"]:
    """The executor to use; ``auto`` means ``default_executor``, then prefers native."""
    if executor == "auto":
        executor = default_executor
    if executor == "native" and not NATIVE_AVAILABLE:
        raise VoteFormatError(
            "the native vote executor is not built (no C compiler at install time); "
            "reinstall with one, or use the numpy executor"
        )
    if executor == "auto":
        return "native" if NATIVE_AVAILABLE else "numpy"
    return executor
