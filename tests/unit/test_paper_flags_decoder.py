"""The paper's command line keeps the paper's rule: ``--deterministic True`` means plain.

``--decoder auto`` (the default) resolves to quorum for deterministic codes, but a user who runs
the paper's own flags expects its master, sign(sum_j E_j) (Sohn et al. 2020, section 2);
``--decoder`` given explicitly still wins.
"""

from __future__ import annotations

import pytest

from election.cli import build_parser
from election.commands.train import config_from_args

PAPER = ["train", "--num_nodes", "9", "--num_Byz_nodes", "2", "--deterministic", "True"]


@pytest.mark.parametrize(
    ("extra", "decoder", "quorum_q"),
    [
        ([], "plain", None),
        (["--decoder", "quorum"], "quorum", 3),
        (["--decoder", "auto"], "quorum", 3),
    ],
)
def test_papers_deterministic_flag_selects_the_plain_decoder_unless_told_otherwise(
    extra: list[str], decoder: str, quorum_q: int | None
) -> None:
    cfg = config_from_args(build_parser().parse_args([*PAPER, *extra]))
    assert cfg.code == "deterministic"
    assert (cfg.effective_decoder, cfg.quorum_q) == (decoder, quorum_q)


def test_our_deterministic_code_flag_keeps_the_auto_default() -> None:
    cfg = config_from_args(build_parser().parse_args(["train", "--code", "deterministic"]))
    assert (cfg.decoder, cfg.effective_decoder) == ("auto", "quorum")
