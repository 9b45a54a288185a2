"""wire.allocator: the master's glibc malloc limits, and the user's MALLOC_* variables winning.

Each case runs in a fresh interpreter: mallopt changes a whole process, and an arena limit set
after threads exist is a different experiment."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

from wire.allocator import AllocatorTuning

ALL = ["MALLOC_MMAP_THRESHOLD", "MALLOC_TRIM_THRESHOLD", "MALLOC_TOP_PAD", "MALLOC_ARENA_MAX"]
glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")


def applied_in_fresh_process(env: dict[str, str]) -> list[str]:
    code = "import json, os, wire.allocator as a; print(json.dumps(a.tune_allocator(os.environ)))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")} | env,
        stdout=subprocess.PIPE,
        check=True,
        timeout=60,
    ).stdout
    return list(json.loads(out))


@glibc
def test_every_limit_is_set_in_a_glibc_process() -> None:
    assert applied_in_fresh_process({}) == ALL


@glibc
def test_a_limit_the_user_set_in_the_environment_is_left_alone() -> None:
    applied = applied_in_fresh_process({"MALLOC_TOP_PAD_": "0", "MALLOC_ARENA_MAX": "4"})
    assert applied == ["MALLOC_MMAP_THRESHOLD", "MALLOC_TRIM_THRESHOLD"]


def test_the_limits_cover_a_dense_resnet50_vote_and_keep_one_arena() -> None:
    tuning = AllocatorTuning()
    resnet50_vote_bytes = (23_520_842 + 7) // 8
    assert tuning.mmap_threshold_bytes > 4 * resnet50_vote_bytes
    assert tuning.trim_threshold_bytes >= tuning.mmap_threshold_bytes
    assert tuning.parameters()[-8] == 1  # M_ARENA_MAX
