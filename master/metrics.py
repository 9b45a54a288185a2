"""Prometheus text metrics of the master, served by a plain ``http.server`` (no dependency).

election_rounds_total                        closed rounds
election_current_round                       the open round
election_votes_accepted_total                votes stored
election_votes_rejected_total{reason=...}    refused messages, by wire.errors reason
election_abstentions_total                   slots without a valid vote at round close
election_round_seconds_sum / _count / election_round_seconds_last
                                             collect + aggregate + optimizer + checkpoint
election_bytes_received_total                vote payload bytes accepted
election_bytes_sent_total                    update and snapshot payload bytes streamed
election_bytes_sent_peers_total              update parts streamed to peer master shards
election_accuracy                            last evaluated test metric (accuracy or AUC)
election_joins_total, election_resyncs_total Join calls, snapshots served
with the accusation on (docs/accusation.md), per round:
election_worker_proven{worker=...}           1 once the worker was proven Byzantine
election_worker_score{worker=...}            its exponentially weighted disagreement score
election_proven_workers, election_quarantined_workers
election_votes_quarantined_total             received votes counted as abstentions
election_round_min_liars                     smallest set of workers explaining the round
election_dead_share, election_tie_share, election_movable_share
                                             robustness telemetry of the last round (sampled)
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from wire.errors import REASONS


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counters: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter({reason: 0 for reason in REASONS})
        self.gauges: dict[str, float] = {"current_round": 0.0, "accuracy": float("nan")}
        self.round_seconds_last = 0.0
        self.proven: frozenset[int] = frozenset()  # workers ever proven Byzantine
        self.scores: list[float] = []  # per worker (NaN: not seen yet); [] = accusation off
        self.quarantined = 0

    def inc(self, name: str, value: float = 1) -> None:
        with self._lock:
            self.counters[name] += value  # type: ignore[assignment]

    def reject(self, reason: str) -> None:
        with self._lock:
            self.rejected[reason] += 1

    def set(self, name: str, value: float) -> None:
        with self._lock:
            self.gauges[name] = value

    def observe_round(self, seconds: float) -> None:
        with self._lock:
            self.counters["round_seconds_sum"] += seconds  # type: ignore[assignment]
            self.counters["round_seconds_count"] += 1
            self.round_seconds_last = seconds

    def observe_accusation(
        self,
        proven: Iterable[int],
        scores: list[float],
        quarantined: int,
        shares: dict[str, float],
    ) -> None:
        """The accusation's view of the last round (shares: dead/tie/movable_share, min_liars)."""
        with self._lock:
            self.proven = frozenset(proven)
            self.scores = list(scores)
            self.quarantined = quarantined
            self.gauges.update(shares)

    def snapshot(self) -> dict[str, float]:
        """Flat copy, e.g. for summary.json: counters, gauges and rejected_<reason>."""
        with self._lock:
            out = {k: float(v) for k, v in self.counters.items()} | dict(self.gauges)
            out |= {f"rejected_{k}": float(v) for k, v in self.rejected.items()}
            return out

    def render(self) -> str:
        with self._lock:
            lines = []

            def metric(name: str, kind: str, value: float, help_text: str) -> None:
                lines.append(f"# HELP election_{name} {help_text}")
                lines.append(f"# TYPE election_{name} {kind}")
                lines.append(f"election_{name} {value:g}")

            c, g = self.counters, self.gauges
            metric("rounds_total", "counter", c["rounds"], "closed rounds")
            metric("current_round", "gauge", g["current_round"], "the open round")
            metric("votes_accepted_total", "counter", c["votes_accepted"], "votes stored")
            lines.append("# HELP election_votes_rejected_total refused messages by reason")
            lines.append("# TYPE election_votes_rejected_total counter")
            for reason, count in sorted(self.rejected.items()):
                lines.append(f'election_votes_rejected_total{{reason="{reason}"}} {count}')
            metric("abstentions_total", "counter", c["abstentions"], "missing votes at close")
            lines.append("# HELP election_round_seconds time to close and publish a round")
            lines.append("# TYPE election_round_seconds summary")
            lines.append(f"election_round_seconds_sum {c['round_seconds_sum']:g}")
            lines.append(f"election_round_seconds_count {c['round_seconds_count']:g}")
            metric("round_seconds_last", "gauge", self.round_seconds_last, "last round seconds")
            metric("bytes_received_total", "counter", c["bytes_received"], "vote bytes in")
            metric("bytes_sent_total", "counter", c["bytes_sent"], "update/snapshot bytes out")
            metric("accuracy", "gauge", g["accuracy"], "last evaluated test metric")
            metric("joins_total", "counter", c["joins"], "Join calls")
            metric("resyncs_total", "counter", c["snapshots"], "snapshots served")
            if self.scores:
                self._render_accusation(lines, metric)
            return "\n".join(lines) + "\n"

    def _render_accusation(self, lines: list[str], metric: Callable[..., None]) -> None:
        """The accusation's metrics (module docstring); called under the lock."""
        per_worker = (
            ("worker_proven", "1 once the worker was proven Byzantine"),
            ("worker_score", "exponentially weighted disagreement score"),
        )
        for name, help_text in per_worker:
            lines.append(f"# HELP election_{name} {help_text}")
            lines.append(f"# TYPE election_{name} gauge")
            for j, score in enumerate(self.scores):
                value = float(j in self.proven) if name == "worker_proven" else score
                lines.append(f'election_{name}{{worker="{j}"}} {value:g}')
        g = self.gauges
        metric("proven_workers", "gauge", len(self.proven), "workers proven Byzantine")
        metric("quarantined_workers", "gauge", self.quarantined, "workers in quarantine")
        metric(
            "votes_quarantined_total",
            "counter",
            self.counters["votes_quarantined"],
            "votes counted as abstentions",
        )
        metric("round_min_liars", "gauge", g.get("min_liars", 0.0), "liars at least, last round")
        for share in ("dead_share", "tie_share", "movable_share"):
            metric(share, "gauge", g.get(share, float("nan")), f"{share}, last round (sampled)")


def serve_metrics(metrics: Metrics, *, host: str, port: int) -> ThreadingHTTPServer:
    """Serve ``GET /metrics`` on a daemon thread; ``server.server_address[1]`` is the port."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server's method name
            if self.path.rstrip("/") not in ("/metrics", ""):
                self.send_error(404)
                return
            body = metrics.render().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
