"""Process-wide malloc settings for the processes that move whole votes and updates.

A round makes every master (and worker) process allocate and free buffers of about d/8 bytes
per vote and per update (1.4 MB at d = 11,173,962: gRPC receive slices, Python ``bytes``, numpy
planes). With glibc's defaults such a block is served by ``mmap`` until the dynamic threshold
rises, and freeing the top of the heap gives memory back to the kernel past 128 KiB
(``M_TRIM_THRESHOLD``); either way the next round touches fresh pages, each one a page fault
and a zeroed 4 KiB page, in every round; and each of gRPC's threads allocates from its own
arena, so a block one thread freed is not what the next thread gets. :func:`tune_allocator`
raises the three limits and keeps one arena, so the freed blocks stay in the heap and are
reused, round after round (measured in the same run by
``election bench grpc --compare-allocator``; figures in BENCHMARKS.md, "Master CPU per
worker").

The cost is memory the process keeps after a round (at most ``trim_threshold_bytes`` of free
heap top, plus blocks below ``mmap_threshold_bytes`` kept for reuse): a few tens of MB for a
ResNet-18 master, next to the parameters and optimizer state it holds anyway.

glibc only (``mallopt``); elsewhere (musl, macOS) :func:`tune_allocator` does nothing and
says so. Settings given as ``MALLOC_*_`` environment variables win: they are left alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Mapping
from dataclasses import dataclass

MiB = 1 << 20

# mallopt parameter numbers (glibc malloc.h)
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8

_ENVIRONMENT = {  # glibc's own variable for each parameter: set by the user, it wins
    M_TRIM_THRESHOLD: "MALLOC_TRIM_THRESHOLD_",
    M_TOP_PAD: "MALLOC_TOP_PAD_",
    M_MMAP_THRESHOLD: "MALLOC_MMAP_THRESHOLD_",
    M_ARENA_MAX: "MALLOC_ARENA_MAX",
}


@dataclass(frozen=True)
class AllocatorTuning:
    """The three glibc malloc limits a vote-moving process runs with."""

    # blocks below this come from the heap, not from a fresh mmap each time (glibc's default
    # starts at 128 KiB; 64 MiB covers a dense ResNet-50 vote, 2.9 MB, many times over)
    mmap_threshold_bytes: int = 64 * MiB
    # free heap top kept instead of returned to the kernel (default 128 KiB): a round's
    # buffers are freed and allocated again next round
    trim_threshold_bytes: int = 256 * MiB
    # extra heap requested on each growth, so a round's first allocations do not grow it in
    # small steps (default 128 KiB)
    top_pad_bytes: int = 64 * MiB
    # malloc arenas (default 8 per core): gRPC's threads each get one, and every arena keeps
    # its own free blocks, so a buffer freed by one thread is not reused by the next; one
    # arena shares them (the Python work runs under the GIL anyway)
    arena_max: int = 1

    def parameters(self) -> dict[int, int]:
        return {
            M_MMAP_THRESHOLD: self.mmap_threshold_bytes,
            M_TRIM_THRESHOLD: self.trim_threshold_bytes,
            M_TOP_PAD: self.top_pad_bytes,
            M_ARENA_MAX: self.arena_max,
        }


def tune_allocator(
    environ: Mapping[str, str], tuning: AllocatorTuning = AllocatorTuning()
) -> list[str]:
    """Apply ``tuning`` to this process's glibc malloc; the names of the parameters set.

    Empty when the C library is not glibc. A parameter whose ``MALLOC_*_`` variable is set in
    ``environ`` (the entry point passes ``os.environ``) is skipped: the user's value stands.
    Idempotent. Call it before the process starts its threads: an arena a thread already has
    stays its own."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return []
    try:
        libc = ctypes.CDLL(libc_name)
        mallopt = libc.mallopt
        if not hasattr(libc, "gnu_get_libc_version"):  # glibc only: other C libraries lack it
            return []
    except (OSError, AttributeError):
        return []
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    applied = []
    for parameter, value in tuning.parameters().items():
        if environ.get(_ENVIRONMENT[parameter]):
            continue
        if mallopt(parameter, value) == 1:  # mallopt returns 1 on success
            applied.append(_ENVIRONMENT[parameter].rstrip("_"))
    return applied
