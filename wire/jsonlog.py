"""Structured logs: one JSON object per line on stderr (``{"ts", "svc", "event", ...}``)."""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, TextIO


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
        record = {"ts": round(time.time(), 3), "svc": self.service, "event": event} | fields
        line = json.dumps(record, default=str, sort_keys=False)
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()
