"""The named random streams: distinct, and the only place their values are written."""

from __future__ import annotations

import re
from pathlib import Path

from election.seeds import ALL_STREAMS

REPO = Path(__file__).resolve().parents[2]
DEFINES_STREAM = re.compile(r"^\w+_STREAM\s*=\s*0x", re.M)


def test_streams_are_distinct() -> None:
    assert len(ALL_STREAMS) >= 10
    assert len(set(ALL_STREAMS.values())) == len(ALL_STREAMS), ALL_STREAMS


def test_no_module_defines_a_stream_of_its_own() -> None:
    seeds = REPO / "election" / "seeds.py"
    elsewhere = [
        path.relative_to(REPO).as_posix()
        for package in ("election", "master", "worker", "adversary", "wire", "bench")
        for path in (REPO / package).rglob("*.py")
        if path != seeds and DEFINES_STREAM.search(path.read_text())
    ]
    assert not elsewhere, elsewhere
