"""Join needs the run's join secret (a real master on port 0, real worker processes).

Without it, with a wrong one or a malformed one, Join is UNAUTHENTICATED and hands out no
token, so an outsider can neither vote nor fetch a snapshot. The secret comes from a flag, a
file (which the master can create) or an environment variable; a master with none refuses to
start unless it runs in explicit open mode; a worker with a wrong secret stops with one line.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from election_cli.main import main
from master.cluster import REPO_ROOT, LocalCluster
from tests.integration.grpc_helpers import live_master, small_config
from wire.gen.election.v1 import election_pb2 as pb

TIMEOUT_S = 10.0


def join(stub, secret: str, slot: int = 2) -> pb.JoinResponse:  # type: ignore[no-untyped-def]
    return stub.Join(pb.JoinRequest(slot=slot, join_secret=secret), timeout=TIMEOUT_S)


def test_join_without_the_secret_is_refused_and_hands_out_nothing(tmp_path: Path) -> None:
    with live_master(small_config(tmp_path, steps=2), tmp_path) as live:
        stub = live.stub()
        for secret in ("", "x" * 20, live.join_secret[:-1], live.join_secret + "x", "ö" * 20):
            with pytest.raises(grpc.RpcError) as err:
                join(stub, secret)
            assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert (err.value.details() or "").startswith("unauthenticated: ")
        assert live.service.rounds.joined() == 0  # nobody took a slot
        token = join(stub, live.join_secret).token
        snap = stub.GetSnapshot(pb.SnapshotRequest(run_id="live-run", slot=2, token=token))
        assert next(iter(snap)).header.digest == live.service.head[1]
        assert live.rejected("unauthenticated") == 5


def test_open_mode_admits_anyone_and_says_so(tmp_path: Path) -> None:
    with live_master(small_config(tmp_path, steps=2), tmp_path, join_secret=None) as live:
        assert join(live.stub(), "").slot == 2


def test_a_master_without_a_secret_or_open_mode_refuses_to_start(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["master", "--steps", "1", "--port", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "join secret" in err and "--open-join" in err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--join-secret", "short"], "16 to 256"),
        (["--join-secret", "has a space in it ok"], "without spaces"),
        (["--join-secret-file", "/no/such/file"], "cannot read"),
        (["--join-secret", "0123456789abcdef", "--open-join"], "exclude"),
    ],
)
def test_bad_join_secret_settings_are_one_line_errors(
    args: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["master", "--steps", "1", "--port", "0", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err, err


def test_join_secret_file_is_created_once_and_read_by_the_workers(tmp_path: Path) -> None:
    cfg = small_config(tmp_path, steps=3)
    secret_file = tmp_path / "secrets" / "join-secret"
    secret_file.parent.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ELECTION_JOIN")}
    env["ELECTION_JOIN_SECRET_FILE"] = str(secret_file)
    cluster = LocalCluster(
        cfg, tmp_path / "cluster", master_args=["--quiet", "--join-secret-create"], env=env
    )
    try:
        cluster.start_master()
        text = secret_file.read_text().strip()
        assert len(text) == 64 and int(text, 16) >= 0
        assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
        # a worker with another secret stops with one line, and takes no slot
        intruder = subprocess.run(
            [sys.executable, "-m", "worker", "--master", cluster.target, "--slot", "0"],
            cwd=REPO_ROOT,
            env={**env, "ELECTION_JOIN_SECRET_FILE": "", "ELECTION_JOIN_SECRET": "9" * 32},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert intruder.returncode == 2
        assert intruder.stderr.strip().splitlines()[-1].startswith("election: error: worker:")
        assert "join secret" in intruder.stderr
        for slot in range(cfg.n):
            cluster.start_slot(slot)
        summary = cluster.wait(240.0)
    finally:
        cluster.stop()
    assert summary["status"] == "completed" and summary["abstentions"] == 0
    assert summary["rejected"] == {"unauthenticated": 1}
    assert secret_file.read_text().strip() == text  # kept, not rotated
