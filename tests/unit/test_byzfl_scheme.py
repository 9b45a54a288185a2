"""``--scheme byzfl:NAME``: ByzFL's aggregators as the master's rule, in the one loop.

The aggregate is checked against ByzFL called directly on the same messages, and the median
against the project's own median scheme (an independent implementation); a run records the
scheme and pays 4 d bytes per vote.
"""

from __future__ import annotations

import json

import pytest
import torch

from election.baselines.byzfl import AGGREGATORS, ByzflAggregator
from election.config import build_config
from election.errors import ConfigError
from election.training.schemes import Median, scheme_class, scheme_for
from election_cli import main as cli
from tests.byzfl_support import byzfl_installed  # noqa: F401 (the fixture)

needs_byzfl = pytest.mark.usefixtures("byzfl_installed")


def messages(n: int, d: int = 40, seed: int = 3) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(d, generator=gen) for _ in range(n)]  # n x (d,) float32


def aggregate(name: str, votes: list[torch.Tensor | None], *, b: int, d: int = 40) -> torch.Tensor:
    """The scheme's update for ``votes`` (a float tensor for every ByzFL scheme)."""
    out = scheme_class(f"byzfl:{name}")(b=b).aggregate(votes, d)
    assert isinstance(out, torch.Tensor)
    return out


def test_unknown_aggregator_is_one_line_naming_the_known_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(ConfigError, match="byzfl:krum"):
        scheme_class("byzfl:mean")
    assert cli.main(["train", "--dataset", "digits", "--steps", "1", "--scheme", "byzfl:x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("election: error: scheme=byzfl:x")


def test_unknown_scheme_names_the_byzfl_form(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["train", "--dataset", "digits", "--steps", "1", "--scheme", "nope"]) == 2
    assert "byzfl:AGGREGATOR" in capsys.readouterr().err


def test_each_name_is_its_own_float_scheme() -> None:
    for name in AGGREGATORS:
        kind = scheme_class(f"byzfl:{name}")
        assert kind.name == f"byzfl:{name}" and kind is scheme_class(f"byzfl:{name}")
        assert kind.vote_encoding == "FLOAT32_LE" and kind.decoders == ("plain",)
        assert not kind.accusable  # proofs need sign(G u) votes


@needs_byzfl
@pytest.mark.parametrize("name", list(AGGREGATORS))
def test_aggregate_is_byzfl_on_the_present_messages(name: str) -> None:
    b = 1
    votes: list[torch.Tensor | None] = list(messages(6))
    votes[2] = None  # an abstention is left out, as the median scheme does
    got = aggregate(name, votes, b=b)
    want = ByzflAggregator(name, f=b).aggregate([v for v in votes if v is not None])
    assert got.dtype == torch.float32 and got.shape == (40,)
    assert torch.equal(got, want)


@needs_byzfl
def test_byzfl_median_equals_the_project_median_on_an_odd_count() -> None:
    votes: list[torch.Tensor | None] = list(messages(7, seed=11))
    got = aggregate("median", votes, b=2)
    torch.testing.assert_close(got, Median().aggregate(votes, 40))


@needs_byzfl
def test_krum_returns_one_of_the_messages_and_uses_f_equal_b() -> None:
    votes = messages(5, seed=5)
    out = aggregate("krum", list(votes), b=1)
    assert any(torch.equal(out, v) for v in votes)
    with pytest.raises(ConfigError, match="2f < n"):  # f = b = 3 of 5 present
        aggregate("krum", list(votes), b=3)


@needs_byzfl
def test_all_abstaining_gives_a_zero_update() -> None:
    out = aggregate("trimmed-mean", [None, None, None], b=1, d=8)
    assert torch.equal(out, torch.zeros(8))


@needs_byzfl
def test_scheme_for_binds_b_from_the_config() -> None:
    cfg = build_config({"dataset": "digits", "scheme": "byzfl:trimmed-mean", "n": 7, "b": 2})
    assert scheme_for(cfg).b == 2


@needs_byzfl
def test_a_run_records_the_scheme_and_pays_four_bytes_per_coordinate(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["train", "--dataset", "digits", "--steps", "4", "--n", "5", "--b", "1"]
    argv += ["--code", "uncoded", "--scheme", "byzfl:centered-clipping", "--attack", "reverse"]
    argv += ["--runs-dir", str(tmp_path), "--json"]
    assert cli.main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["scheme"] == "byzfl:centered-clipping"
    assert summary["wire_bytes_per_coord_per_vote"] == 4.0
    assert ":" not in summary["run_dir"].rsplit("/", 1)[-1]  # folder names stay portable


def test_only_the_coordinate_wise_median_may_be_sharded() -> None:
    for name in AGGREGATORS:
        assert scheme_class(f"byzfl:{name}").shardable is (name == "median")


@needs_byzfl
def test_sharded_median_equals_the_slices_of_the_whole() -> None:
    scheme = scheme_class("byzfl:median")(b=1)
    votes: list[torch.Tensor | None] = list(messages(5, d=200, seed=9))
    whole = aggregate("median", votes, b=1, d=200)
    for lo, hi in scheme.shard_ranges(200, 3):
        part = scheme.aggregate([scheme.slice_vote(v, lo, hi) for v in votes], hi - lo)
        assert torch.equal(part, whole[lo:hi])
    with pytest.raises(ConfigError, match="master_shards=2"):
        scheme_class("byzfl:krum")(b=1).shard_ranges(200, 2)


def test_byzfl_attack_names_are_registered_once() -> None:
    from election.attacks import ATTACKS, BYZFL_ATTACKS
    from election.baselines.byzfl_attacks import NAMES

    assert BYZFL_ATTACKS == NAMES and set(NAMES) <= set(ATTACKS)
    assert all(ATTACKS[name]().needs_round for name in NAMES)


def test_byzfl_attacks_on_sign_votes_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["train", "--dataset", "digits", "--steps", "2", "--attack", "byzfl:alie"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "acts on float gradients" in err[0]


@needs_byzfl
@pytest.mark.parametrize("name", ["byzfl:sign-flipping", "byzfl:ipm", "byzfl:alie"])
def test_byzfl_attack_sends_byzfl_on_the_honest_workers_messages(name: str) -> None:
    import numpy as np

    from election.attacks import AttackContext, make_attack
    from election.baselines.byzfl import float_attack
    from election.sign_attacks import RoundView

    honest = torch.stack(messages(5, seed=21))  # (5, 40) float32, rows 1 and 3 Byzantine
    view = RoundView(step=0, byzantine=(1, 3), honest=honest, matrix=np.eye(5), b=2)
    attack = make_attack(name)
    sent = []
    for j in (1, 3):
        ctx = AttackContext(
            honest=honest[j],
            target=lambda: honest.mean(dim=0),
            generator=torch.Generator().manual_seed(0),
            round=view.for_worker(j),
        )
        sent.append(attack(ctx))
    want = float_attack(name.removeprefix("byzfl:"))([honest[0], honest[2], honest[4]])
    assert torch.equal(sent[0], want) and torch.equal(sent[1], want)  # colluders send one vector
