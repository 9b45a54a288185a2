"""What ``election bench cluster`` reports, apart from running it: the bandwidth bounds, the
traffic and CPU counters of a phase, and the BENCHMARKS.md table (the arithmetic, testable
without root; :mod:`bench.cluster` runs the phases).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.cluster_node import Shard
from bench.netns import Topology


def project_bound_bits(n: int, shards: list[Shard], segments: int = 1) -> int:
    """Payload bits through the busiest master link per round: n votes in, n updates out.

    Without pipelining (``segments`` = 1) the updates follow the votes: 2 n ceil(w/8) bytes for
    a shard of w coordinates. With S pipelined segments per shard (``shards`` in groups of S,
    one group per node) a segment's updates go out while the next segments' votes come in, the
    two directions of the link at once: n (ceil(w/8) + the largest segment's bytes), since
    only the first segment's votes and the last one's updates do not overlap."""
    groups = [shards[i : i + segments] for i in range(0, len(shards), segments)]
    seg_bytes = [[(s.hi - s.lo + 7) // 8 for s in group] for group in groups]
    return max(n * (sum(b) + max(b)) * 8 for b in seg_bytes)


def ring_bound_bits(n: int, d: int, itemsize: int) -> float:
    """Ring all-reduce: reduce-scatter + all-gather, 2 (n-1)/n d values each way per link."""
    return 2 * (n - 1) / n * d * itemsize * 8


Snapshot = tuple[dict[int, tuple[int, int]], tuple[int, int]]


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of every core so far, from /proc/stat (idle + iowait = not busy)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal
    return total - fields[3] - fields[4], total


def snapshot(topo: Topology) -> Snapshot:
    return topo.counters(), machine_jiffies()


def traffic(before: Snapshot, after: Snapshot, rounds: int) -> dict[str, Any]:
    """Per-round bytes of the busiest link and of the master's (node 0's) link, and how busy
    the machine's cores were meanwhile (near 1: the CPU, not the wire, sets the time)."""
    b, a = before[0], after[0]
    per = {
        node: ((a[node][0] - b[node][0]) / rounds, (a[node][1] - b[node][1]) / rounds) for node in a
    }
    busiest = max(per, key=lambda node: max(per[node]))
    busy = after[1][0] - before[1][0]
    total = after[1][1] - before[1][1]
    return {
        "busiest_link_bytes": round(max(per[busiest])),
        "busiest_link_node": busiest,
        "master_link_in_bytes": round(per[0][0]),
        "master_link_out_bytes": round(per[0][1]),
        "machine_cpu_busy": round(busy / max(total, 1), 3),
    }


def bounded(result: dict[str, Any], bound_bits: float, rate: float | None) -> dict[str, Any]:
    bound_ms = None if rate is None else bound_bits / rate * 1000
    frac = None if bound_ms is None else bound_ms / result["round_ms"]
    return result | {
        "bound_ms": None if bound_ms is None else round(bound_ms, 3),
        "fraction_of_bound": None if frac is None else round(frac, 3),
    }


TABLE_HEADER = (
    "| n | shards | link | probe Gbit/s | round ms | bound ms | of bound | master CPU ms/worker "
    "| gloo fp32 ms | gloo fp16 ms | / gloo fp32 | / gloo fp16 | gloo fp32 of bound | cores busy |"
)


def table(points: list[dict[str, Any]]) -> str:
    """The BENCHMARKS.md table of points (one row per point, as the command printed them)."""

    def f(x: object) -> str:
        if x is None:
            return "-"
        return f"{x:g}" if isinstance(x, float) else str(x)

    rows = [TABLE_HEADER, "|" + "---|" * TABLE_HEADER.count(" | ") + "---|"]
    for p in points:
        pr, g32, g16 = p["project"], p.get("gloo_fp32", {}), p.get("gloo_fp16", {})
        shards = p["master_shards"]
        if p.get("segments", 1) > 1:
            shards = f"{shards} x {p['segments']} seg"
        cells = [p["n"], shards, p["rate"], p["link_probe_gbit_s"], pr["round_ms"],
                 pr["bound_ms"], pr["fraction_of_bound"], pr["master_cpu_ms_per_worker"],
                 g32.get("round_ms"), g16.get("round_ms"), p.get("ratio_to_gloo_fp32"),
                 p.get("ratio_to_gloo_fp16"), g32.get("fraction_of_bound"),
                 pr["machine_cpu_busy"]]  # fmt: skip
        rows.append("| " + " | ".join(f(c) for c in cells) + " |")
    return "\n".join(rows)
