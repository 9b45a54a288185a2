"""A local cluster of real OS processes on loopback: one master (or k master shards), n
workers/adversaries.

``train_grpc_cluster(cfg)`` is what ``election train --transport grpc`` runs: it starts
``python -m master`` on a free port of 127.0.0.1 (k of them with ``--master-shards k``), then
one ``python -m worker`` per honest slot and one ``python -m adversary`` per Byzantine slot
(the launcher knows which slots attack from the config; the master does not), waits, and
returns the master's summary (the same shape as ``train_inprocess``'s). :class:`LocalCluster`
is the process-level toolkit the fault tests use (kill and restart any process).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from election.attacks import MOBILE, select_byzantine
from election.config import TrainConfig
from election.errors import ElectionError
from election.training.setup import build_code

REPO_ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 120.0  # the master must bind its port within this


class ClusterError(ElectionError):
    """A process of the local cluster failed; the message carries the tail of its log."""


def byzantine_slots(cfg: TrainConfig) -> tuple[int, ...]:
    """The slots the configuration makes Byzantine (what prepare() computes, without data);
    under a mobile set every slot (each runs as an adversary, honest outside its rounds)."""
    if cfg.attack == "none":
        return ()
    if cfg.byzantine_select == MOBILE:
        return tuple(range(cfg.n)) if cfg.b else ()
    matrix = np.asarray(build_code(cfg).matrix)
    return select_byzantine(cfg.byzantine_select, matrix=matrix, b=cfg.b, seed=cfg.seed)


def free_ports(count: int) -> list[int]:
    """``count`` distinct free TCP ports of 127.0.0.1 (held open together while picked)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class LocalCluster:
    def __init__(
        self,
        cfg: TrainConfig,
        workdir: Path,
        *,
        master_args: Sequence[str] = (),
        client_args: Sequence[str] = (),
        env: dict[str, str] | None = None,
        shards: int = 1,
    ) -> None:
        self.cfg = cfg.replace(transport="grpc")
        self.shards = shards  # k master shards (docs/grpc.md "Sharded masters"), 1 = one master
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.workdir / "config.json"
        self.config_path.write_text(json.dumps(self.cfg.to_json_dict(), sort_keys=True))
        self.master_args = list(master_args)
        self.client_args = list(client_args)
        self.env = dict(os.environ if env is None else env)
        path = self.env.get("PYTHONPATH", "")
        self.env["PYTHONPATH"] = f"{REPO_ROOT}{os.pathsep}{path}" if path else str(REPO_ROOT)
        # every local cluster gets its own join secret, handed to its processes only
        if not self.env.get("ELECTION_JOIN_SECRET") and not self.env.get(
            "ELECTION_JOIN_SECRET_FILE"
        ):
            self.env["ELECTION_JOIN_SECRET"] = secrets.token_hex(32)
        # sharded masters name each other's ports on their command lines: pick them up front
        self.ports = [0] if shards == 1 else free_ports(shards)
        self.masters: list[subprocess.Popen[bytes] | None] = [None] * shards
        self.slots: dict[int, subprocess.Popen[bytes]] = {}
        self.byzantine = byzantine_slots(self.cfg)
        self._starts = 0

    def _spawn(
        self, module: str, args: Sequence[str], log_name: str, stdout: Path | None = None
    ) -> subprocess.Popen[bytes]:
        self._starts += 1
        err = (self.workdir / f"{log_name}.log").open("ab")
        out = stdout.open("wb") if stdout else subprocess.DEVNULL
        return subprocess.Popen(
            [sys.executable, "-m", module, *args], stdout=out, stderr=err, env=self.env
        )

    @staticmethod
    def master_name(shard: int) -> str:
        """The file stem of a master's logs: ``master`` (shard 0, or the one master),
        ``master1``, ``master2`` ... for the other shards."""
        return "master" if shard == 0 else f"master{shard}"

    def start_master(self, extra: Sequence[str] = (), shard: int = 0) -> subprocess.Popen[bytes]:
        name = self.master_name(shard)
        port_file = self.workdir / f"{name}.port"
        port_file.unlink(missing_ok=True)
        sharding = []
        if self.shards > 1:
            peers = ",".join(f"127.0.0.1:{p}" for p in self.ports)
            sharding = ["--master-shards", str(self.shards), "--shard", str(shard)]
            sharding += ["--shard-peers", peers]
            if shard > 0:  # shard 0's run folder is the run's; the others' lie under shardK/
                sharding += ["--runs-dir", str(Path(self.cfg.runs_dir) / f"shard{shard}")]
        args = [
            "--config",
            str(self.config_path),
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.ports[shard]),
            "--port-file",
            str(port_file),
            "--json",
            *sharding,
            *self.master_args,
            *extra,
        ]
        proc = self._spawn("master", args, name, stdout=self.workdir / f"{name}.out")
        self.masters[shard] = proc
        deadline = time.monotonic() + START_TIMEOUT_S
        while not port_file.exists():
            if proc.poll() is not None:
                raise ClusterError(
                    f"{name} exited with {proc.returncode}:\n{_tail(self.workdir / f'{name}.log')}"
                )
            if time.monotonic() > deadline:
                raise ClusterError(f"{name} did not bind a port in {START_TIMEOUT_S:g}s")
            time.sleep(0.05)
        self.ports[shard] = int(port_file.read_text())
        return proc

    @property
    def master(self) -> subprocess.Popen[bytes] | None:
        """The master process (shard 0's with sharded masters)."""
        return self.masters[0]

    @property
    def port(self) -> int:
        return self.ports[0]

    @property
    def target(self) -> str:
        """The master's address (shard 0's with sharded masters)."""
        return f"127.0.0.1:{self.ports[0]}"

    @property
    def worker_target(self) -> str:
        """What a worker's --master is: the master's address (``target``, which a subclass may
        place elsewhere), or every shard's, in shard order."""
        if self.shards == 1:
            return self.target
        return ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def start_slot(
        self, slot: int, *, adversary: bool | None = None, extra: Sequence[str] = ()
    ) -> subprocess.Popen[bytes]:
        attack = slot in self.byzantine if adversary is None else adversary
        module = "adversary" if attack else "worker"
        args = ["--master", self.worker_target, "--slot", str(slot), "--json"]
        args += [*self.client_args, *extra]
        proc = self._spawn(module, args, f"slot{slot}", stdout=self.workdir / f"slot{slot}.out")
        self.slots[slot] = proc
        return proc

    def start_all(self) -> None:
        for shard in range(self.shards):
            self.start_master(shard=shard)
        for slot in range(self.cfg.n):
            self.start_slot(slot)

    def wait(self, timeout_s: float) -> dict[str, Any]:
        """Wait for the master to finish; fail fast if it or any slot process fails."""
        masters = [m for m in self.masters if m is not None]
        assert masters, "no master was started"
        deadline = time.monotonic() + timeout_s
        while any(m.poll() is None for m in masters):
            self._raise_if_failed()
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"the run did not finish in {timeout_s:g}s:\n"
                    f"{_tail(self.workdir / 'master.log')}"
                )
            time.sleep(0.05)
        self._raise_if_failed()
        for slot, proc in self.slots.items():
            try:
                proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise ClusterError(f"slot {slot} did not exit after the run finished") from None
        return self.master_summary()

    def _raise_if_failed(self) -> None:
        """ClusterError with the log's tail when a master or a slot exited with an error."""
        named = [(self.master_name(s), m) for s, m in enumerate(self.masters)]
        named += [(f"slot{slot}", proc) for slot, proc in self.slots.items()]
        for name, proc in named:
            if proc is not None and proc.poll() not in (None, 0):
                what = name.replace("slot", "slot ") if name.startswith("slot") else name
                raise ClusterError(
                    f"{what} exited with {proc.returncode}:\n{_tail(self.workdir / f'{name}.log')}"
                )

    def master_summary(self, shard: int = 0) -> dict[str, Any]:
        lines = (self.workdir / f"{self.master_name(shard)}.out").read_text().strip().splitlines()
        return dict(json.loads(lines[-1]))

    def slot_summary(self, slot: int) -> dict[str, Any]:
        lines = (self.workdir / f"slot{slot}.out").read_text().strip().splitlines()
        return dict(json.loads(lines[-1]))

    def stop(self) -> None:
        """Kill whatever still runs (each process by its own handle)."""
        for proc in [*self.masters, *self.slots.values()]:
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()


def train_grpc_cluster(
    cfg: TrainConfig,
    *,
    progress: bool = True,
    timeout_s: float = 24 * 3600.0,
    master_args: Sequence[str] = (),
    master_shards: int = 1,
) -> dict[str, Any]:
    """Run ``cfg`` on a local gRPC cluster; returns the master's summary (shard 0's).

    The processes' logs are copied into ``<run_dir>/cluster/``.
    """
    workdir = Path(tempfile.mkdtemp(prefix="election-grpc-"))
    cluster = LocalCluster(
        cfg, workdir, master_args=["--quiet", *master_args], shards=master_shards
    )
    try:
        if progress:
            masters = "master" if master_shards == 1 else f"{master_shards} master shards"
            print(f"grpc cluster: {masters} + {cfg.n} slots, logs in {workdir}", file=sys.stderr)
        cluster.start_all()
        summary = cluster.wait(timeout_s)
    finally:
        cluster.stop()
    logs = Path(summary["run_dir"]) / "cluster"
    logs.mkdir(exist_ok=True)
    for path in workdir.glob("*.log"):
        shutil.copy(path, logs / path.name)
    shutil.rmtree(workdir, ignore_errors=True)
    return summary
