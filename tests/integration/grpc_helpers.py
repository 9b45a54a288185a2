"""Shared helpers of the gRPC integration tests: configs, polling, certificates, and a real
master served in the test process on port 0 (:func:`live_master`)."""

from __future__ import annotations

import io
import json
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from election.config import TrainConfig, build_config
from election.training.loop import train_inprocess
from election.training.recorder import RunRecorder
from election.training.setup import prepare
from master.config import MasterConfig
from master.loop import run_rounds
from master.metrics import Metrics
from master.rounds import RoundsClosed
from master.server import MasterServer
from master.service import MasterService
from wire.gen.election.v1 import election_pb2_grpc as pb_grpc
from wire.jsonlog import JsonLog
from wire.options import channel_options
from wire.security import TlsFiles, new_secret
from worker.client import MasterClient, Unreachable

SMALL = {
    "dataset": "digits",
    "num_train": 300,
    "threads": 1,
    "n": 3,
    "b": 1,
    "code": "uncoded",
    "batch_size": 60,
    "eval_every": 10,
}


def small_config(tmp: Path, **changes: Any) -> TrainConfig:
    return build_config(SMALL | {"runs_dir": str(tmp / "runs")} | changes)


def reference_sha(cfg: TrainConfig, tmp: Path) -> str:
    summary = train_inprocess(prepare(cfg.replace(runs_dir=str(tmp / "ref-runs"))), progress=False)
    return str(summary["model_sha256"])


def wait_for_round(
    target: str, at_least: int, *, timeout_s: float = 300.0, tls: TlsFiles | None = None
) -> int:
    """Poll GetStatus until the master's model is at round >= ``at_least``."""
    client = MasterClient(target, tls=tls)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            try:
                status = client.status(timeout_s=2.0)
                if status.round >= at_least:
                    return status.round
            except Unreachable:
                pass
            time.sleep(0.05)
    finally:
        client.close()
    raise TimeoutError(f"master {target} did not reach round {at_least} in {timeout_s}s")


def make_certificates(folder: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate (openssl)."""
    folder.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=election-test-ca",
    )
    (folder / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    (folder / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name in ("server", "client"):
        run(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            "-subj",
            f"/CN=election-{name}",
        )
        run(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            f"{name}.pem",
            "-days",
            "2",
            "-extfile",
            f"{name}.ext",
        )
    return {
        name: folder / name
        for name in ("ca.pem", "server.pem", "server.key", "client.pem", "client.key")
    }


LIVE_JOIN_SECRET = "live-join-secret-0123456789"


@dataclass
class LiveMaster:
    """A real master (MasterService + gRPC server on 127.0.0.1:0) inside the test process."""

    service: MasterService
    target: str
    log_stream: io.StringIO
    join_secret: str
    summary: dict[str, Any] = field(default_factory=dict)
    error: BaseException | None = None

    def log_lines(self) -> list[str]:
        return self.log_stream.getvalue().splitlines()

    def events(self, name: str) -> list[dict[str, Any]]:
        return [e for e in map(json.loads, self.log_lines()) if e["event"] == name]

    def rejected(self, reason: str) -> int:
        return int(self.service.metrics.snapshot().get(f"rejected_{reason}", 0))

    def stub(self) -> pb_grpc.ElectionStub:
        channel = grpc.insecure_channel(self.target, options=channel_options())
        return pb_grpc.ElectionStub(channel)

    def token(self, slot: int) -> str:
        return self.service.tokens.issue(slot)


@contextmanager
def live_master(
    cfg: TrainConfig,
    tmp: Path,
    *,
    run: bool = False,
    join_secret: str | None = LIVE_JOIN_SECRET,
    **options: Any,
) -> Iterator[LiveMaster]:
    """Serve ``cfg`` on a free loopback port; with ``run`` the training loop runs in a thread.

    ``join_secret=None`` serves in open mode.
    """
    setup = prepare(cfg.replace(runs_dir=str(tmp / "runs"), transport="grpc"))
    stream = io.StringIO()
    service = MasterService(
        setup,
        run_id="live-run",
        secret=new_secret(),
        options=MasterConfig(**options),
        metrics=Metrics(),
        log=JsonLog("master", stream=stream),
        join_secret=join_secret,
    )
    server = MasterServer(service, bind="127.0.0.1", port=0)
    port = server.start()
    live = LiveMaster(service, f"127.0.0.1:{port}", stream, join_secret or "")

    def train() -> None:
        try:
            live.summary = run_rounds(service, RunRecorder(setup), history=[])
        except RoundsClosed:
            pass
        except BaseException as exc:  # reported to the test
            live.error = exc

    thread = threading.Thread(target=train, daemon=True)
    if run:
        thread.start()
    try:
        yield live
    finally:
        service.rounds.close()
        server.stop(grace=0.5)
        if run:
            thread.join(30)
