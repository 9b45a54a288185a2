"""Every service setting is validated before anything starts: one line, exit status 2.

``election master --port 99999`` used to serve on some other port; now it, and every other
out-of-range setting of the master, the worker and the adversary, is refused with
``election: error: <flag or variable>=<value> is not a valid value: <rule>``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from election_cli.main import main
from master.cluster import REPO_ROOT

REFUSE_WITHIN_S = 60  # a refused setting stops the process at once (imports take a few s)
MASTER_BAD = [
    ["--port", "99999"],
    ["--port", "-1"],
    ["--metrics-port", "65536"],
    ["--metrics-port", "-2"],
    ["--round-deadline", "0"],
    ["--round-deadline", "nan"],
    ["--startup-timeout", "-1"],
    ["--linger", "inf"],
    ["--pace", "-0.5"],
    ["--checkpoint-every", "0"],
    ["--run-id", "has spaces"],
    ["--run-id", "r" * 65],
    ["--bind", ""],
    ["--port-file", "/no/such/folder/port"],
]
CLIENT_BAD = [
    ["--port", "0"],
    ["--port", "70000"],
    ["--master", "host:123456"],
    ["--master", "two words"],
    ["--poll-timeout", "0"],
    ["--connect-timeout", "-3"],
    ["--threads", "-2"],
    ["--name", "w" * 257],
]


def one_line_error(capsys: pytest.CaptureFixture[str], flag: str) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"election: error: {flag}="), err
    assert "is not a valid value" in err
    return err


@pytest.mark.parametrize("bad", MASTER_BAD, ids=lambda a: "=".join(a)[:40])
def test_master_refuses_a_bad_setting_with_one_line(
    bad: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["master", "--steps", "1", *bad]) == 2
    one_line_error(capsys, bad[0])


@pytest.mark.parametrize("role", ["worker", "adversary"])
@pytest.mark.parametrize("bad", CLIENT_BAD, ids=lambda a: "=".join(a)[:40])
def test_worker_and_adversary_refuse_a_bad_setting_with_one_line(
    role: str, bad: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([role, *bad]) == 2
    one_line_error(capsys, bad[0])


def test_adversary_refuses_a_negative_fault_repeat(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["adversary", "--fault-repeat", "-1"]) == 2
    one_line_error(capsys, "--fault-repeat")


def test_environment_variables_are_validated_like_flags(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ELECTION_PORT", "123456")
    assert main(["master", "--steps", "1"]) == 2
    assert "ELECTION_PORT='123456'" in one_line_error(capsys, "ELECTION_PORT")


def test_port_out_of_range_stops_a_real_master_process_at_once(tmp_path: Path) -> None:
    # --open-join: nothing else stops this master, so without the check it would serve
    args = ["--port", "99999", "--steps", "1", "--quiet", "--open-join"]
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "master", *args],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=REFUSE_WITHIN_S,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the master served instead of refusing --port 99999: {exc.stderr!r:.300}")
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines() == [
        "election: error: --port='99999' is not a valid value: a port must be in [0, 65535]"
        " (0 = any free port)"
    ]
