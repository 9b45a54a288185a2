"""Worker slot assignment: a requested slot (e.g. a StatefulSet ordinal) or the next free slot
in a seeded random order. The master never learns which slots are Byzantine: an adversary
joins exactly like a worker.
"""

from __future__ import annotations

import threading

import numpy as np

from election.seeds import SLOT_STREAM
from wire.errors import BadSlot, NoFreeSlot


class SlotTable:
    """Thread-safe set of claimed slots. Re-claiming a slot (a restarted worker) is allowed."""

    def __init__(self, n_slots: int, *, seed: int) -> None:
        self.n_slots = n_slots
        rng = np.random.default_rng([seed, SLOT_STREAM])
        self.order = tuple(int(s) for s in rng.permutation(n_slots))  # "any" hands these out
        self.claimed: set[int] = set()
        self._lock = threading.Lock()

    def claim(self, requested: int) -> int:
        """``requested`` in [0, n) or -1 for any free slot; raises BadSlot / NoFreeSlot."""
        with self._lock:
            if requested == -1:
                free = [s for s in self.order if s not in self.claimed]
                if not free:
                    raise NoFreeSlot(f"all {self.n_slots} slots are taken; ask for one by number")
                requested = free[0]
            elif not 0 <= requested < self.n_slots:
                raise BadSlot(f"slot {requested} is outside [0, {self.n_slots}) (or -1 = any)")
            self.claimed.add(requested)
            return requested

    def count(self) -> int:
        with self._lock:
            return len(self.claimed)
