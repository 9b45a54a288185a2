"""Shared helpers of the gRPC integration tests: configs, polling, certificates."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

from election.config import TrainConfig, build_config
from election.training.loop import train_inprocess
from election.training.setup import prepare
from wire.security import TlsFiles
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
