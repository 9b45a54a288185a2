"""Hosts as network namespaces (one per rank or process, bridged, private addresses): real
``mpirun -f hosts`` through MPICH's hydra launcher, and a gRPC master and workers on separate
hosts; both train the in-process model (same ``model_sha256``), and the votes cross the links.

Hydra starts its proxy on every remote host with ``ssh -x HOST COMMAND``; here
``-launcher-exec`` points at a wrapper that runs COMMAND in HOST's namespace instead
(``ip netns exec``), so the launch path is the one of real hosts (docs/mpi.md).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from bench.netns import Topology
from election.training.loop import train_inprocess
from election.training.setup import prepare
from master.cluster import LocalCluster
from tests.contract.test_transport_contract import config

PREFIX = "ec14m"  # this tier's namespaces (swept at start, deleted at the end)
CASE = "deterministic-omniscient"  # the contract suite's case with the paper's code
MPIRUN = shutil.which("mpirun", path=str(Path(sys.executable).parent)) or shutil.which("mpirun")
ROOT = os.geteuid() == 0 and shutil.which("ip") is not None
TIMEOUT_S = 300.0
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not ROOT, reason="needs root and ip (network namespaces)"),
]
# On one machine UCX (MPICH's netmod here) finds shared memory between namespaces and would
# move the votes there; restricting it to TCP makes the ranks talk as on separate hosts.
MPI_ENV = {"UCX_TLS": "tcp,self", "UCX_NET_DEVICES": "eth0", "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    runs = tmp_path_factory.mktemp("reference")
    return train_inprocess(prepare(config(CASE, runs)), progress=False)


@pytest.fixture(scope="module")
def hosts(reference: dict[str, Any]) -> Iterator[Topology]:
    with Topology(PREFIX, reference["n"] + 1) as topo:  # host 0: master / rank 0
        yield topo


def write_ssh_wrapper(topo: Topology, path: Path, log: Path) -> None:
    """An ``ssh`` stand-in for hydra: ``[-opts] HOST COMMAND...`` -> COMMAND in HOST's netns."""
    cases = "\n".join(f"  {topo.address(i)}) ns={topo.ns(i)} ;;" for i in range(topo.nodes))
    path.write_text(
        "#!/bin/sh\n"
        'while [ "${1#-}" != "$1" ]; do shift; done  # ssh options (hydra passes -x)\n'
        "host=$1; shift\n"
        f'case "$host" in\n{cases}\n'
        '  *) echo "netns-ssh: unknown host $host" >&2; exit 255 ;;\nesac\n'
        f'echo "$host" >> {log}\n'
        'exec ip netns exec "$ns" sh -c "$*"\n'
    )
    path.chmod(0o755)


def master_bytes_in(topo: Topology, before: dict[int, tuple[int, int]]) -> int:
    """Bytes host 0 received since ``before`` (read on its bridge port)."""
    return topo.counters()[0][1] - before[0][1]


@pytest.mark.skipif(MPIRUN is None, reason="mpirun not installed (pip install mpich)")
def test_mpirun_with_a_hosts_file_trains_the_in_process_model(
    hosts: Topology, reference: dict[str, Any], tmp_path: Path
) -> None:
    assert MPIRUN is not None
    n = reference["n"]
    hostfile = tmp_path / "hosts"
    hostfile.write_text("".join(f"{hosts.address(i)}:1\n" for i in range(n + 1)))
    wrapper, launches = tmp_path / "netns-ssh", tmp_path / "launches.log"
    write_ssh_wrapper(hosts, wrapper, launches)
    cfg = config(CASE, tmp_path / "runs")
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(cfg.to_json_dict()))
    cmd = [
        *hosts.exec_prefix(0),
        MPIRUN,
        "-launcher",
        "ssh",
        "-launcher-exec",
        str(wrapper),
        "-f",
        str(hostfile),
        "-n",
        str(n + 1),
        sys.executable,
        "-m",
        "election",
        "mpi",
        "--config",
        str(config_file),
        "--json",
        "--quiet",
    ]
    before = hosts.counters()
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=TIMEOUT_S, env=dict(os.environ, **MPI_ENV)
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["transport"] == "mpi"
    assert summary["model_sha256"] == reference["model_sha256"]
    assert summary["final"] == reference["final"]
    # hydra launched one proxy per remote host through the wrapper (host 0 is mpirun's own)
    assert sorted(launches.read_text().split()) == sorted(hosts.address(i) for i in range(1, n + 1))
    # every round's n packed votes reached rank 0 over host 0's link
    assert master_bytes_in(hosts, before) >= summary["steps"] * n * (summary["dim"] + 7) // 8


class NamespaceCluster(LocalCluster):
    """The local cluster with the master on host 0 and slot s on host s + 1."""

    def __init__(self, cfg: Any, workdir: Path, topo: Topology) -> None:
        super().__init__(cfg, workdir, master_args=["--quiet", "--bind", topo.address(0)])
        self.topo = topo

    @property
    def target(self) -> str:
        return f"{self.topo.address(0)}:{self.port}"

    def _spawn(
        self, module: str, args: Sequence[str], log_name: str, stdout: Path | None = None
    ) -> subprocess.Popen[bytes]:
        host = 0 if module == "master" else 1 + int(log_name.removeprefix("slot"))
        err = (self.workdir / f"{log_name}.log").open("ab")
        out = stdout.open("wb") if stdout else subprocess.DEVNULL
        argv = [*self.topo.exec_prefix(host), sys.executable, "-m", module, *args]
        return subprocess.Popen(argv, stdout=out, stderr=err, env=self.env)


def test_grpc_master_and_workers_on_separate_hosts_train_the_in_process_model(
    hosts: Topology, reference: dict[str, Any], tmp_path: Path
) -> None:
    cfg = config(CASE, tmp_path / "runs")
    cluster = NamespaceCluster(cfg, tmp_path / "cluster", hosts)
    before = hosts.counters()
    try:
        cluster.start_all()
        summary = cluster.wait(TIMEOUT_S)
    finally:
        cluster.stop()
    assert summary["model_sha256"] == reference["model_sha256"]
    assert summary["final"] == reference["final"]
    assert summary["byzantine"] == reference["byzantine"]
    n = reference["n"]
    assert master_bytes_in(hosts, before) >= summary["steps"] * n * (summary["dim"] + 7) // 8
