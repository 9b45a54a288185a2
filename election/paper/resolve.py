"""A preset line -> the exact TrainConfig it runs (election/paper/presets.py, docs/paper.md).

The line's flags go through the CLI's own parser and translation, so a run.sh line means here
what ``election train <the same flags>`` means. ELECTION_* variables and config files do not
apply: a preset is the same configuration everywhere.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from election.config import TrainConfig, build_config
from election.paper.presets import CIFAR10_TRAIN, Figure, Line


@dataclass(frozen=True)
class Resolved:
    figure: Figure
    line: Line
    cfg: TrainConfig
    run_name: str
    notices: tuple[str, ...]

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "figure": self.figure.name,
            "scheme": self.line.key,
            "label": self.line.label,
            "source": self.line.source,
            "flags": self.line.flags,
            "run_name": self.run_name,
            "config": self.cfg.to_json_dict(),
        }


def without_gpu_num(argv: list[str]) -> list[str]:
    """run.sh's --gpu_num K pins a GPU of the authors' machine; the device is --device here."""
    out, skip = [], False
    for i, token in enumerate(argv):
        if skip:
            skip = False
            continue
        if token == "--gpu_num":
            skip = i + 1 < len(argv)
            continue
        if token.startswith("--gpu_num="):
            continue
        out.append(token)
    return out


def resolve_line(figure: Figure, line: Line, extra: Sequence[str] = ()) -> list[Resolved]:
    """One Resolved per run of the line (one per Byzantine draw for lines with ``draws``)."""
    from election.flags import add_training_flags, overrides_from_args

    seeds: Sequence[int | None] = line.draws or (None,)
    out = []
    for seed in seeds:
        argv = shlex.split(figure.base) + without_gpu_num(shlex.split(line.flags)) + list(extra)
        if seed is not None:
            argv += ["--seed", str(seed)]
        parser = argparse.ArgumentParser(prog=f"election paper {figure.name}")
        add_training_flags(parser)
        args = parser.parse_args(argv)
        notices: list[str] = []
        overrides = overrides_from_args(args, notices)
        if figure.paper_flags and overrides.get("eval_every") is None:
            batch = overrides.get("batch_size") or 0
            if batch:  # main.py:337: test once per epoch of 50,000 // batch steps
                overrides["eval_every"] = max(1, CIFAR10_TRAIN // int(batch))
        name = line.key if seed is None else f"{line.key}-s{seed}"
        cfg = build_config(overrides | {"run_name": name})
        out.append(Resolved(figure, line, cfg, name, tuple(notices)))
    return out


def resolve_figure(
    figure: Figure, extra: Sequence[str] = (), schemes: Sequence[str] = ()
) -> list[Resolved]:
    """Every run of the figure's lines (or of the lines named in ``schemes``)."""
    from election.errors import ConfigError

    keys = [line.key for line in figure.lines]
    unknown = [s for s in schemes if s not in keys]
    if unknown:
        raise ConfigError(
            f"figure {figure.name} has no scheme {', '.join(unknown)}; its schemes: "
            f"{', '.join(keys)}"
        )
    chosen = [line for line in figure.lines if not schemes or line.key in schemes]
    return [r for line in chosen for r in resolve_line(figure, line, extra)]


def official_byzantine_ranks(n: int, b: int, trial: int) -> tuple[int, ...]:
    """The Byzantine ranks main.py drew for a run.sh line: its first numpy draw after seeding
    numpy's legacy global generator with --trial_idx (main.py:255-262, 275, 285), ranks 1..n.
    main.py simulates only ranks 1..n-1 (main.py:102), so rank n never attacks."""
    import numpy as np

    ranks = np.random.RandomState(trial).choice(n, b, replace=False) + 1
    return tuple(sorted(int(r) for r in ranks))
