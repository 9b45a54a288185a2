"""One-line warnings for the user (``election: warning: ...`` on stderr), once per process.

Used where a configuration is valid but probably not what the user expects (a paper matrix used
beyond its tolerance, an allocation file with empty rows). ``silence()`` turns printing off in
processes that should not repeat the line (MPI ranks other than 0); ``seen()`` lists what was
warned, for tests and summaries.
"""

from __future__ import annotations

import sys

_SEEN: list[str] = []
_SILENT = [False]


def warn(message: str) -> None:
    """Print ``message`` once per process (later identical messages are dropped)."""
    if message in _SEEN:
        return
    _SEEN.append(message)
    if not _SILENT[0]:
        print(f"election: warning: {message}", file=sys.stderr, flush=True)


def silence() -> None:
    _SILENT[0] = True


def seen() -> tuple[str, ...]:
    return tuple(_SEEN)


def reset() -> None:
    """Forget what was warned and print again (tests)."""
    _SEEN.clear()
    _SILENT[0] = False
