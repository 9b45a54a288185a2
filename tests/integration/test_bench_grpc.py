"""`election bench grpc`: real loopback gRPC rounds, the master's CPU per worker beside the
plain-TCP floor of the same bytes and the copying protobuf path, and bad input in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from election_cli import main as cli


def test_bench_grpc_reports_master_cpu_beside_the_tcp_floor(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["bench", "grpc", "--n", "3", "--d", "200003", "--rounds", "2", "--compare-protobuf"]
    argv += ["--compare-allocator", "--compare-sync"]
    assert cli.main(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    result = json.loads(lines[-1])
    assert (result["n"], result["d"], result["rounds"]) == (3, 200003, 2)
    assert result["wire_bytes_per_vote"] > (200003 + 7) // 8  # the packed vote plus its header
    assert result["wire_bytes_per_coord"] == pytest.approx(1 / 8, rel=0.01)
    for key in (
        "master_round_ms",
        "aggregate_ms",
        "master_cpu_ms_per_worker",
        "tcp_floor_cpu_ms_per_worker",
        "protobuf_path_cpu_ms_per_worker",
        "protobuf_path_round_ms",
        "untuned_allocator_cpu_ms_per_worker",
        "untuned_allocator_round_ms",
        "sync_server_cpu_ms_per_worker",
        "sync_server_round_ms",
    ):
        assert result[key] > 0, key
    for key in ("master_minor_faults_per_worker", "untuned_allocator_minor_faults_per_worker"):
        assert result[key] >= 0, key
    assert set(result["allocator_tuned"]) <= {
        "MALLOC_MMAP_THRESHOLD",
        "MALLOC_TRIM_THRESHOLD",
        "MALLOC_TOP_PAD",
        "MALLOC_ARENA_MAX",
    }
    assert result["master_cpu_over_tcp_floor"] == pytest.approx(
        result["master_cpu_ms_per_worker"] / result["tcp_floor_cpu_ms_per_worker"], abs=0.01
    )


@pytest.mark.parametrize("bad", [["--n", "0"], ["--d", "0"], ["--rounds", "0"]])
def test_bench_grpc_rejects_bad_arguments_in_one_line(
    bad: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["bench", "grpc", *bad]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("election: error:")


def test_bench_grpc_table_of_saved_results(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    row = {
        "n": 15,
        "master_cpu_ms_per_worker": 4.0,
        "protobuf_path_cpu_ms_per_worker": 5.0,
        "tcp_floor_cpu_ms_per_worker": 0.5,
        "master_cpu_over_tcp_floor": 8.0,
        "master_round_ms": 80.0,
        "protobuf_path_round_ms": 90.0,
        "tcp_floor_round_ms": 12.0,
        "aggregate_ms": 4.5,
    }
    saved = tmp_path / "points.jsonl"
    saved.write_text(json.dumps(row) + "\n" + json.dumps(row | {"n": 5}) + "\n")
    assert cli.main(["bench", "grpc", "--table", str(saved)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 4 and lines[0].startswith("| n | master CPU ms/worker")
    assert lines[2].split(" | ")[:4] == ["| 15", "4.00", "5.00", "1.25"]  # 5 / 4
    assert lines[3].startswith("| 5 |")
    assert lines[2].endswith("| - | - | - | - | - |")  # no sync, fault or allocator figures
    saved.write_text(json.dumps(row | {"sync_server_cpu_ms_per_worker": 2.5}) + "\n")
    assert cli.main(["bench", "grpc", "--table", str(saved)]) == 0
    cells = capsys.readouterr().out.strip().splitlines()[2].split(" | ")
    assert cells[3] == "2.00"  # protobuf / in place on the same (synchronous) server: 5 / 2.5
    saved.write_text(json.dumps({"n": 3, "master_cpu_ms_per_worker": 1.0}) + "\n")
    assert cli.main(["bench", "grpc", "--table", str(saved)]) == 2
    assert "without --compare-protobuf" in capsys.readouterr().err
