"""Structured logs: one JSON object per line on stderr (``{"ts", "svc", "event", ...}``).

Lines are JSON with ``ensure_ascii``: control characters and non-ASCII text are escaped, so a
logged value can never forge a line or a terminal escape; every string value is cut to
``MAX_FIELD_CHARS`` (callers bound untrusted fields far below that, see wire.limits).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, TextIO

MAX_FIELD_CHARS = 1024  # the longest string value a log line carries


class JsonLog:
    """``log.event("vote_rejected", slot=3, reason="stale_round")`` -> one JSON line."""

    def __init__(self, service: str, *, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.service = service
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self._lock = threading.Lock()

    def event(self, event: str, **fields: Any) -> None:
        if self.quiet:
            return
        record = {"ts": round(time.time(), 3), "svc": self.service, "event": event} | {
            k: v[:MAX_FIELD_CHARS] if isinstance(v, str) else v for k, v in fields.items()
        }
        line = json.dumps(record, default=str, sort_keys=False, ensure_ascii=True)
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()
