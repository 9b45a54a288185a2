"""Child processes spoken to in JSON lines, every read bounded by a deadline.

A child gets SIGKILL when the controller dies (``PR_SET_PDEATHSIG``, kept across the exec of
``ip netns exec``), so even a killed controller leaves no process behind; its stderr goes to a
log file whose tail is quoted when it fails.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import select
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from election.errors import ElectionError

PR_SET_PDEATHSIG = 1  # prctl option (linux/prctl.h)
STOP_GRACE_S = 5.0  # a child told to quit is killed after this
READ_BYTES = 1 << 16


class BenchError(ElectionError):
    """A benchmark process failed or did not answer in time (message: its log's tail)."""


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def tail(path: Path, lines: int = 8) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return ""


class Child:
    """``argv`` with stdin/stdout pipes; :meth:`read` returns the next JSON line."""

    def __init__(self, argv: list[str], log: Path, env: dict[str, str]) -> None:
        self.log = log
        self.name = log.stem
        with log.open("ab") as err:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                env=env,
                preexec_fn=_die_with_parent,
            )
        self._buf = b""

    def _fail(self, what: str) -> BenchError:
        return BenchError(f"{self.name} {what}; log {self.log}: {tail(self.log)}")

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(line.encode() + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._fail(f"exited ({self.proc.poll()}) before {line!r}") from None

    def read(self, deadline: float) -> dict[str, Any]:
        """The next line as JSON, by ``deadline`` (time.monotonic()) or BenchError."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._fail("did not answer in time")
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                data = os.read(fd, READ_BYTES)
                if not data:
                    self.proc.wait(STOP_GRACE_S)
                    raise self._fail(f"exited with {self.proc.returncode}")
                self._buf += data
        line, self._buf = self._buf.split(b"\n", 1)
        return dict(json.loads(line))

    def stop(self, deadline: float | None = None) -> None:
        """Ask it to quit (closing stdin); kill it if it has not exited by ``deadline``."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        wait = STOP_GRACE_S if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            self.proc.wait(wait)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def stop_all(children: list[Child]) -> None:
    """Close every child's stdin first (they quit together), then reap them by one deadline."""
    for child in children:
        if child.proc.stdin is not None and not child.proc.stdin.closed:
            with contextlib.suppress(OSError):
                child.proc.stdin.close()
    deadline = time.monotonic() + STOP_GRACE_S
    for child in children:
        child.stop(deadline)
