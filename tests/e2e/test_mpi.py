"""Real `mpirun` with n + 1 ranks on this machine: same model as in-process, bytes per worker,
world-size check and a killed rank stopping the job within the timeout."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from election.config import build_config
from election_cli.commands.train import run_training

MPIRUN = shutil.which("mpirun", path=str(Path(sys.executable).parent)) or shutil.which("mpirun")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(MPIRUN is None, reason="mpirun not installed (pip install mpich)"),
]

QUICK = ["--num-train", "300", "--steps", "5", "--eval-every", "5", "--threads", "1"]


def flags_to_overrides(flags: list[str]) -> dict[str, str]:
    out = {}
    for key, value in zip(flags[::2], flags[1::2], strict=True):
        out[key.lstrip("-").replace("-", "_")] = value
    return out


def mpi_run(
    n: int, flags: list[str], tmp_path: Path, timeout: float = 240
) -> subprocess.CompletedProcess:
    cmd = [
        MPIRUN,
        "-n",
        str(n + 1),
        sys.executable,
        "-m",
        "election",
        "mpi",
        *flags,
        "--runs-dir",
        str(tmp_path / "mpi"),
        "--json",
        "--quiet",
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


def inprocess_sha(flags: list[str], tmp_path: Path) -> str:
    overrides = flags_to_overrides(flags) | {"runs_dir": str(tmp_path / "ref")}
    return run_training(build_config(overrides), progress=False)["model_sha256"]


# The contract suite (tests/contract, transport "mpi") covers uncoded, Bernoulli and
# deterministic codes; this case adds the heaviest-row selection and the bytes per worker.
@pytest.mark.parametrize(
    "scenario",
    [["--code", "deterministic", "--attack", "reverse", "--byzantine-select", "heaviest"]],
    ids=["deterministic-reverse-heaviest"],
)
def test_mpirun_gives_the_same_model_as_the_in_process_run(scenario, tmp_path):
    flags = ["--n", "5", "--b", "1", *scenario, *QUICK]
    proc = mpi_run(5, flags, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["steps"] == 5 and summary["transport"] == "mpi"
    assert summary["model_sha256"] == inprocess_sha(flags, tmp_path)
    per_worker = summary["bytes_sent_per_worker_per_round"]
    assert len(per_worker) == 5
    dense_bound = summary["dim"] / 8 + 64  # d/8 bits plus the frame header
    honest = [b for slot, b in enumerate(per_worker) if slot not in summary["byzantine"]]
    assert all(0 < b <= dense_bound * 2 for b in honest)  # at most a zero mask on top


def test_wrong_world_size_is_a_clear_error(tmp_path):
    cmd = [MPIRUN, "-n", "4", sys.executable, "-m", "election", "mpi", "--n", "5", *QUICK]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "world size is 4 but n=5 needs n + 1 = 6 ranks" in proc.stderr


@pytest.mark.parametrize("how", ["killed", "frozen"])
def test_a_lost_rank_stops_the_job_within_the_timeout(how, tmp_path):
    """SIGKILL: the launcher ends the job. SIGSTOP (a silent, hung rank): rank 0's round
    timeout names the silent rank and aborts the job instead of hanging forever."""
    flags = [
        "--n",
        "5",
        "--b",
        "1",
        "--num-train",
        "300",
        "--steps",
        "100000",
        "--eval-every",
        "100000",
        "--threads",
        "1",
        "--rank-timeout",
        "5",
    ]
    cmd = [
        MPIRUN,
        "-n",
        "6",
        sys.executable,
        "-m",
        "election",
        "mpi",
        *flags,
        "--runs-dir",
        str(tmp_path),
        "--quiet",
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 90
        # training has started once rank 0 wrote the run folder (MPI_Init is done everywhere)
        while not list(tmp_path.glob("*/config.json")) and time.monotonic() < deadline:
            time.sleep(0.5)
        victim = _worker_pid(tmp_path)
        assert victim is not None, "worker ranks never started"
        time.sleep(2.0)
        os.kill(victim, signal.SIGKILL if how == "killed" else signal.SIGSTOP)
        start = time.monotonic()
        stdout, stderr = proc.communicate(timeout=60)
        assert time.monotonic() - start < 30
        assert proc.returncode != 0
        if how == "frozen":
            assert "rank 3 (worker slot 2) sent nothing" in stderr
        else:
            # the launcher reports the dead process itself (MPICH: "BAD TERMINATION OF ONE ...")
            report = (stdout + stderr).lower()
            assert "bad termination" in report or "rank" in report
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def _worker_pid(runs_dir: Path) -> int | None:
    """Rank 3 of OUR job: an `election mpi` process with our run folder on its command line
    (ranks export PMI_RANK; MPICH puts every rank in its own session, so the folder is what
    tells our job from another one running on the same machine)."""
    ours = str(runs_dir).encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if ours in cmdline and b"election" in cmdline and b"PMI_RANK=3" in environ:
            return int(entry.name)
    return None
