"""The training flags every entry point shares (``election train``, ``compare``, ``mpi``, the
master service): TrainConfig's fields as argparse flags, the paper's flags translated
(:mod:`election.paper.flags`, docs/paper.md), and the summary a run prints.

Our flags map one-to-one onto :class:`election.config.TrainConfig` (argparse dest = field name);
booleans such as ``--deterministic False`` are parsed as booleans (the original's ``type=bool``
turned "False" into True). Callers pass their environment in: nothing here reads ``os.environ``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from typing import Any

from election.config import (
    ACCUSATION_MODES,
    DECODERS,
    FIELD_TYPES,
    OPTIMIZERS,
    PROTOCOLS,
    QUARANTINE_MODES,
    SCHEMES,
    TRANSPORTS,
    TrainConfig,
    build_config,
)
from election.notices import warn
from election.paper.flags import given_paper_flags, translate


def add_training_flags(parser: argparse.ArgumentParser) -> None:
    """Flags shared by ``train``, ``compare`` and ``mpi`` (all default to None = not given)."""
    _system_flags(parser)
    _optimisation_flags(parser)
    _run_flags(parser)
    _paper_flags(parser)


def _system_flags(parser: argparse.ArgumentParser) -> None:
    """The system under test: data, model, code, attack, scheme, decoder."""
    g = parser.add_argument_group("system")
    _workload_flags(g)
    _decoding_flags(g)


def _workload_flags(g: argparse._ArgumentGroup) -> None:
    """Data, model, code, attack, scheme and noise."""
    g.add_argument(
        "--dataset", help="digits (default, embedded) | fashion-mnist | cifar10 | amazon"
    )
    g.add_argument(
        "--model", help="mlp | cnn | resnet18 | resnet50 | logreg (default: per dataset)"
    )
    g.add_argument("--n", type=int, help="number of workers = partitions per step (default 5)")
    g.add_argument("--b", type=int, help="number of Byzantine workers (default 1)")
    g.add_argument("--code", help="uncoded | bernoulli | deterministic | ternary | file:PATH")
    g.add_argument("--r", type=float, help="Bernoulli expected redundancy, p = r/n")
    g.add_argument(
        "--no-redraw",
        dest="redraw",
        action="store_const",
        const=False,
        default=None,
        help="Bernoulli: keep the first draw even with empty rows (the official Amazon run)",
    )
    g.add_argument(
        "--attack",
        help="none | reverse | directional | random | omniscient | margin | stochastic | mimic "
        "| label-flip | collude | collude-quorum | ... (docs/attacks.md)",
    )
    g.add_argument(
        "--byzantine-select",
        help="random | heaviest | mobile (redrawn every round) | comma-separated worker ids",
    )
    g.add_argument(
        "--scheme",
        help=f"{' | '.join(SCHEMES)} | byzfl:NAME (majority is the default; byzfl:NAME is one of "
        "ByzFL's aggregators on float gradients, the optional extra: docs/attacks.md)",
    )
    g.add_argument(
        "--noise-variance", type=float, help="N(0, variance) per partition, shared by holders"
    )
    g.add_argument(
        "--worker-noise-std", type=float, help="std * N(0, 1) per (honest worker, partition)"
    )
    g.add_argument(
        "--recompute",
        action="store_true",
        default=None,
        help="recompute every assigned partition per worker (the paper's cost)",
    )
    g.add_argument(
        "--augment",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="CIFAR-10 crop + flip augmentation (default on for cifar10, as main.py)",
    )


def _decoding_flags(g: argparse._ArgumentGroup) -> None:
    """The master's rule, the audit and the accusation."""
    g.add_argument(
        "--decoder",
        choices=DECODERS,
        help="master's rule: plain = sign(sum of votes) (the paper); quorum = s only if >= q "
        "votes equal s, else 0; auto (default) = quorum for deterministic and ternary codes",
    )
    g.add_argument("--quorum", type=int, help="q of the quorum decoder (default 0 = b + 1)")
    g.add_argument(
        "--audit",
        action="store_true",
        default=None,
        help="in-process: count coordinates where the update differs from the all-partition "
        "majority mu (split into mu != 0, tie, dead) per evaluation window",
    )
    g.add_argument(
        "--accusation",
        choices=ACCUSATION_MODES,
        help="master: per round, the workers the votes prove Byzantine, scores and telemetry "
        "(docs/accusation.md); auto (default) = on for scheme majority without worker noise",
    )
    g.add_argument(
        "--quarantine",
        choices=QUARANTINE_MODES,
        help="proven: a worker once proven Byzantine has its later votes counted as abstentions",
    )


def _optimisation_flags(parser: argparse.ArgumentParser) -> None:
    """Optimiser, schedule and batch."""
    g = parser.add_argument_group("optimisation")
    g.add_argument("--optimizer", choices=OPTIMIZERS)
    g.add_argument("--lr", type=float)
    g.add_argument("--momentum", type=float)
    g.add_argument("--weight-decay", type=float)
    g.add_argument("--lr-milestones", help="comma-separated epochs where lr *= lr-gamma")
    g.add_argument("--lr-gamma", type=float)
    g.add_argument("--batch-size", type=int, help="global batch per step (n equal partitions)")
    g.add_argument(
        "--partition-size",
        type=int,
        help="samples per partition (used when --batch-size is not given)",
    )
    g.add_argument("--epochs", type=int)
    g.add_argument("--steps", type=int, help="stop after this many steps (overrides epochs)")
    g.add_argument("--eval-every", type=int, help="evaluate every K steps")
    g.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        help="project (shuffled batches) | seed (the official Amazon run: fixed shards, ...)",
    )


def _run_flags(parser: argparse.ArgumentParser) -> None:
    """Seed, device, transport and run folders."""
    g = parser.add_argument_group("run")
    g.add_argument("--seed", type=int)
    g.add_argument("--device", help="auto | cpu | cuda | cuda:K")
    g.add_argument("--transport", choices=TRANSPORTS)
    g.add_argument("--data-root", help="where dataset files are looked for")
    g.add_argument("--num-train", type=int, help="use only the first N training samples")
    g.add_argument("--runs-dir", help="parent folder of run folders (default runs/)")
    g.add_argument("--run-name")
    g.add_argument("--threads", type=int, help="torch intra-op threads (0 = default)")
    g.add_argument("--config", dest="config_file", help="JSON file with config values")


def _paper_flags(parser: argparse.ArgumentParser) -> None:
    """The paper's own flags (translated: election.paper.flags)."""
    g = parser.add_argument_group(
        "the paper's flags (cifar10/main.py, with its meaning; docs/paper.md)"
    )
    g.add_argument("--num_nodes", type=int, help="n (default 5)")
    g.add_argument("--num_Byz_nodes", type=int, help="b (main.py's default 0)")
    g.add_argument("--redundancy", type=float, help="Bernoulli r (default 1.0); with det.: 1.0|3.8")
    g.add_argument("--deterministic", help="True: identity (r 1.0) or the n = 5 matrix (r 3.8)")
    g.add_argument(
        "--batch_size", dest="paper_batch_size", type=int, help="the GLOBAL batch (n partitions)"
    )
    g.add_argument("--trial_idx", type=int, help="the seed (main.py's default 1)")
    g.add_argument("--attack_type", help="reverse | directional (all -1) | random")
    g.add_argument("--network", help="ResNet18 | ResNet50")
    g.add_argument("--num_epochs", type=int, help="= --epochs")
    g.add_argument("--coord_median", help="True: identity + coordinate-wise median")
    g.add_argument("--signed_sum", help="True: vote sign(sum of raw partition gradients)")
    g.add_argument("--noisy_gradient", help="True: honest workers add --variance * N(0, 1)")
    g.add_argument("--variance", type=float, help="noise STANDARD DEVIATION (main.py:149)")
    g.add_argument("--gpu_num", type=int, help="cuda:K (the CPU when CUDA is absent)")


# Our flags are the config fields themselves (argparse dest = field name).
OUR_FIELDS = tuple(name for name in FIELD_TYPES if name != "extra")


def overrides_from_args(
    args: argparse.Namespace, notices: list[str] | None = None
) -> dict[str, Any]:
    """Our flags merged with the paper's flags translated (election.paper.flags): our flags
    override main.py's defaults and must agree with the paper flags the command gives."""
    ours = {name: getattr(args, name, None) for name in OUR_FIELDS}
    translation = translate(given_paper_flags(args), ours=ours)
    if notices is not None:
        notices.extend(translation.notices)
    return translation.merged(ours)


def config_from_args(
    args: argparse.Namespace, *, env: Mapping[str, str], quiet: bool = False
) -> TrainConfig:
    """The run's config from the parsed flags, ``--config`` and ``env`` (the entry point's
    environment: only its ``ELECTION_*`` variables count); the paper flags' one-line warnings
    go to stderr unless ``quiet``."""
    notices: list[str] = []
    cfg = build_config(
        overrides_from_args(args, notices), config_file=args.config_file, env=election_env(env)
    )
    if not quiet:
        for line in notices:
            warn(line)
    return cfg


def election_env(env: Mapping[str, str]) -> dict[str, str]:
    """The ``ELECTION_*`` variables of ``env`` (the settings a container passes)."""
    return {k: v for k, v in env.items() if k.startswith("ELECTION_")}


def print_summary(summary: dict[str, Any], *, as_json: bool) -> None:
    """What every training entry point prints: one JSON object, or three lines."""
    if as_json:
        print(json.dumps(summary, sort_keys=True))
        return
    final = ", ".join(f"{k} {v:.4f}" for k, v in summary["final"].items() if v is not None)
    print(f"finished {summary['steps']} steps: {final}")
    print(f"model sha256 {summary['model_sha256']}")
    for line in accusation_lines(summary):
        print(line)
    print(f"run folder   {summary['run_dir']}", file=sys.stdout)


def accusation_lines(summary: Mapping[str, Any]) -> list[str]:
    """The summary's accusation and telemetry in two lines (none when the accusation was off)."""
    acc, tele = summary.get("accusation"), summary.get("telemetry")
    if not acc or not tele:
        return []
    first = acc["first_proof_round"]
    proven = ", ".join(f"{j} (round {r})" for j, r in first.items()) or "none"
    quarantined = f"; quarantined {acc['quarantined']}" if acc["quarantine"] != "off" else ""

    def share(name: str) -> str:
        value = tele.get(f"{name}_share_mean")
        return "-" if value is None else f"{value:.4f}"

    return [
        f"proven       {proven}{quarantined}",
        f"telemetry    dead {share('dead')}, ties {share('tie')}, movable by b={tele['b']} "
        f"{share('movable')} (mean of {tele['rounds']} rounds, margin median "
        f"{tele['margin_median']})",
    ]
