"""`election bench votes`: one JSON object, both executors agree with unpack-and-sum, bad input."""

from __future__ import annotations

import json

import pytest

from election.votes.majority import NATIVE_AVAILABLE, resolve_executor
from election_cli import main as cli


@pytest.mark.parametrize("extra", [[], ["--cold", "--zeros-frac", "0.01"], ["--executor", "numpy"]])
def test_bench_votes_prints_one_json_object_with_matching_results(
    extra: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["bench", "votes", "--n", "5", "--d", "10007", "--repeat", "2", "--json", *extra]
    assert cli.main(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["same_result"] is True
    assert result["same_quorum_result"] is True and result["quorum"] == 6
    assert result["n"] == 5 and result["d"] == 10007
    dense_bytes = 5 * ((10007 + 7) // 8)  # 5 votes of ceil(d/8) bytes
    if "--zeros-frac" in extra:
        assert result["packed_bytes"] > dense_bytes  # zero encodings add payload
    else:
        assert result["packed_bytes"] == dense_bytes
    expected = "numpy" if "numpy" in extra else resolve_executor()
    assert result["executor"] == expected
    assert result["cold_caches"] is ("--cold" in extra)
    timed = ("majority_ms", "numpy_executor_ms", "naive_ms", "quorum_ms", "quorum_numpy_ms")
    for key in (*timed, "gbytes_per_s", "speedup_vs_naive", "quorum_vs_plain"):
        assert result[key] > 0
    assert len(result["load_average"]) == 2
    if not NATIVE_AVAILABLE:  # the yardstick is the native module's stream_read
        assert result["read_executor"] is None
        return
    assert result["read_executor"] == "native" and result["read_result_checked"] is True
    assert result["kernel_isa"] in {"avx2", "sse2", "avx512f", "generic"}
    reads = ("read_sequential_gbytes_per_s", "read_interleaved_gbytes_per_s")
    for key in reads:
        assert result[key] > 0
    # ratios rounded to 3 digits: a call preempted on a loaded machine may round to 0.0
    for key in ("fraction_of_read", "quorum_fraction_of_read", "cpu_fraction_of_read_median"):
        assert isinstance(result[key], float) and result[key] >= 0
    best_read = max(result[k] for k in reads)
    # the fraction is the majority's GB/s over the faster read of the same run (rounding aside)
    assert result["fraction_of_read"] == pytest.approx(
        result["gbytes_per_s"] / best_read, rel=0.01, abs=2e-3
    )


@pytest.mark.parametrize(
    "bad",
    [["--n", "0"], ["--d", "0"], ["--repeat", "0"], ["--zeros-frac", "1.5"], ["--quorum", "0"]],
)
def test_bench_votes_rejects_bad_arguments_in_one_line(
    bad: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["bench", "votes", *bad]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("election: error:")
