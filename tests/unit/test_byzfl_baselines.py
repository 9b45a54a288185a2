"""The ByzFL adapter: lazy import, each aggregator and attack called through ByzFL.

Runs where the optional extra is installed (`pip install -e '.[byzfl]'`); skipped otherwise.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from election.baselines import byzfl as adapter
from election.errors import ConfigError
from tests.byzfl_support import byzfl_installed  # noqa: F401 (the fixture)

needs_byzfl = pytest.mark.usefixtures("byzfl_installed")


def messages(n: int = 7, d: int = 50, seed: int = 0) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(d, generator=gen) for _ in range(n)]


def test_importing_election_does_not_import_byzfl() -> None:
    code = "import election, election.baselines.byzfl, sys; print('byzfl' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_unknown_names_fail_in_one_line() -> None:
    with pytest.raises(ConfigError, match="known: median"):
        adapter.ByzflAggregator("mean")
    with pytest.raises(ConfigError, match="known: sign-flipping"):
        adapter.float_attack("reverse")


@needs_byzfl
def test_median_and_trimmed_mean_match_their_definitions() -> None:
    msgs = messages()
    stacked = torch.stack(msgs)
    med = adapter.aggregate("median", msgs)
    assert torch.allclose(med, stacked.median(dim=0).values) or torch.allclose(
        med, torch.quantile(stacked, 0.5, dim=0)
    )
    trimmed = adapter.aggregate("trimmed-mean", [*msgs, None], f=2)  # None = abstention
    assert torch.allclose(trimmed, stacked.sort(dim=0).values[2:-2].mean(dim=0), atol=1e-6)


@needs_byzfl
def test_krum_picks_an_honest_message_against_far_outliers() -> None:
    msgs = messages(n=7)
    far = [m + 1e3 for m in messages(n=2, seed=9)]
    out = adapter.aggregate("krum", msgs + far, f=2)
    assert any(torch.equal(out, m) for m in msgs)
    with pytest.raises(ConfigError, match="2f < n"):
        adapter.aggregate("krum", msgs[:4], f=2)


@needs_byzfl
def test_geometric_median_and_centered_clipping_resist_one_outlier() -> None:
    honest = [torch.ones(20) + 0.01 * m for m in messages(n=6, d=20)]
    bad = [torch.full((20,), 1e4)]
    mean = torch.stack(honest + bad).mean(dim=0)
    for name in ("geometric-median", "centered-clipping"):
        agg = adapter.ByzflAggregator(name, f=1)
        out = agg(honest + bad)
        out = agg(honest + bad)  # centered clipping keeps its centre between rounds
        assert out.shape == (20,) and out.dtype == torch.float32
        assert (out - 1).abs().max() < (mean - 1).abs().max() / 10, name


@needs_byzfl
def test_float_attacks_follow_their_formulas() -> None:
    honest = messages(n=5)
    stacked = torch.stack(honest)
    mean = stacked.mean(dim=0)
    assert torch.allclose(adapter.float_attack("sign-flipping")(honest), -mean)
    assert torch.allclose(adapter.float_attack("ipm")(honest), -2.0 * mean)
    alie = mean + 1.5 * stacked.std(dim=0)
    assert torch.allclose(adapter.float_attack("alie")(honest), alie, atol=1e-6)


@needs_byzfl
def test_bench_byzfl_prints_one_json_object(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from bench import byzfl as bench_byzfl

    argv = ["--n", "7", "--d", "4001", "--f", "2", "--repeat", "1", "--json"]
    assert bench_byzfl.main(argv) == 0
    result = json.loads(capsys.readouterr().out.strip())
    assert set(result["aggregators"]) == set(adapter.AGGREGATORS)
    assert result["bytes_per_worker_float32"] == 4 * 4001 + 16
    assert result["bytes_per_worker_packed"] == (4001 + 7) // 8 + 16
