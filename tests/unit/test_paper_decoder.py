"""The paper's presets and flags keep the paper's rule sign(sum_j E_j) (Sohn et al. 2020, Sec. 2).

``--decoder auto`` (the default) resolves to quorum q = b + 1 only for the project's
deterministic and ternary codes (docs/codes.md, "Which decoder"); every preset line of
``election paper`` (election/paper/presets.py) and the paper's own flags must resolve to plain.
"""

from __future__ import annotations

import pytest

from election.flags import config_from_args
from election.paper.presets import FIGURES
from election.paper.resolve import resolve_line
from election_cli.main import build_parser

LINES = [(figure, line) for figure in FIGURES.values() for line in figure.lines]


@pytest.mark.parametrize(
    ("figure", "line"), LINES, ids=[f"{f.name}-{line.key}" for f, line in LINES]
)
def test_every_paper_preset_line_runs_the_plain_decoder(figure, line) -> None:
    for resolved in resolve_line(figure, line):
        cfg = resolved.cfg
        assert (cfg.effective_decoder, cfg.quorum_q) == ("plain", None), resolved.run_name


@pytest.mark.parametrize(
    "flags",
    [
        ["--deterministic", "True", "--redundancy", "3.8", "--num_Byz_nodes", "1"],
        ["--deterministic", "True", "--redundancy", "1.0", "--num_Byz_nodes", "1"],
        ["--redundancy", "2.5", "--num_Byz_nodes", "1"],
    ],
)
def test_the_papers_flags_resolve_to_the_plain_decoder(flags: list[str]) -> None:
    cfg = config_from_args(build_parser().parse_args(["train", *flags]), env={}, quiet=True)
    assert (cfg.effective_decoder, cfg.quorum_q) == ("plain", None)


def test_the_projects_deterministic_code_defaults_to_the_quorum_and_plain_can_be_asked() -> None:
    def resolve(*extra: str):
        return config_from_args(
            build_parser().parse_args(["train", "--n", "9", "--b", "2", *extra]), env={}
        )

    assert (resolve().code, resolve().effective_decoder, resolve().quorum_q) == (
        "deterministic",
        "quorum",
        3,
    )
    assert resolve("--decoder", "plain").quorum_q is None
    assert resolve("--code", "ternary").quorum_q == 3
    assert resolve("--code", "bernoulli").quorum_q is None
