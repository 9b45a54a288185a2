"""``election train``: one training run (the paper's main.py), on any transport.

Our flags map one-to-one onto :class:`election.config.TrainConfig`. The paper's flags (its
README and run.sh) are accepted too and translated; booleans such as ``--deterministic False``
are parsed as booleans (the original's ``type=bool`` turned "False" into True).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from election.config import (
    DECODERS,
    FIELD_TYPES,
    OPTIMIZERS,
    SCHEMES,
    TRANSPORTS,
    TrainConfig,
    build_config,
    parse_bool,
)
from election.errors import ConfigError

# The paper's --network names -> our model registry names.
PAPER_NETWORKS = {"resnet18": "resnet18", "resnet50": "resnet50", "logistic": "logreg"}


def add_training_flags(parser: argparse.ArgumentParser) -> None:
    """Flags shared by ``train``, ``compare`` and ``mpi`` (all default to None = not given)."""
    g = parser.add_argument_group("system")
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
    g.add_argument("--attack", help="none | reverse | directional | random | omniscient | ...")
    g.add_argument("--byzantine-select", help="random | heaviest | comma-separated worker ids")
    g.add_argument("--scheme", choices=SCHEMES, help="majority (default) or a paper baseline")
    g.add_argument("--noise-variance", type=float, help="Gaussian noise variance before the sign")
    g.add_argument(
        "--recompute",
        action="store_true",
        default=None,
        help="recompute every assigned partition per worker (the paper's cost)",
    )
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
    g = parser.add_argument_group("the paper's flags (accepted and translated)")
    g.add_argument("--num_nodes", type=int, help="= --n")
    g.add_argument("--num_Byz_nodes", type=int, help="= --b")
    g.add_argument("--redundancy", type=float, help="= --r (and --code bernoulli)")
    g.add_argument("--deterministic", help="True = --code deterministic")
    g.add_argument(
        "--batch_size",
        dest="paper_batch_size",
        type=int,
        help="samples per partition = --partition-size",
    )
    g.add_argument("--trial_idx", type=int, help="= --seed")
    g.add_argument("--attack_type", help="= --attack")
    g.add_argument("--network", help="ResNet18 | ResNet50 | ... = --model")
    g.add_argument("--num_epochs", type=int, help="= --epochs")
    g.add_argument("--coord_median", help="True = --scheme median")
    g.add_argument("--signed_sum", help="True = --scheme signed-sum")
    g.add_argument("--noisy_gradient", help="True = add Gaussian noise (see --variance)")
    g.add_argument("--variance", type=float, help="noise variance for --noisy_gradient")
    g.add_argument("--gpu_num", type=int, help="= --device cuda:K")


# Our flags are the config fields themselves (argparse dest = field name).
OUR_FIELDS = tuple(name for name in FIELD_TYPES if name != "extra")


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """Our flags, then the paper's flags translated (ours win when both are given)."""
    ours = {name: getattr(args, name, None) for name in OUR_FIELDS}
    paper: dict[str, Any] = {}
    if args.num_nodes is not None:
        paper["n"] = args.num_nodes
    if args.num_Byz_nodes is not None:
        paper["b"] = args.num_Byz_nodes
    if args.redundancy is not None:
        paper["r"] = args.redundancy
        paper["code"] = "bernoulli" if args.redundancy > 1 else "uncoded"
    if args.deterministic is not None and parse_bool(args.deterministic, "--deterministic"):
        # the paper's command keeps the paper's rule sign(sum_j E_j); --decoder still wins
        paper["code"], paper["decoder"] = "deterministic", "plain"
    if args.trial_idx is not None:
        paper["seed"] = args.trial_idx
    if args.attack_type is not None:
        paper["attack"] = args.attack_type.lower()
    if args.network is not None:
        key = "".join(ch for ch in args.network.lower() if ch.isalnum())
        paper["model"] = PAPER_NETWORKS.get(key, key)
    if args.num_epochs is not None:
        paper["epochs"] = args.num_epochs
    if args.coord_median is not None and parse_bool(args.coord_median, "--coord_median"):
        paper["scheme"] = "median"
    if args.signed_sum is not None and parse_bool(args.signed_sum, "--signed_sum"):
        paper["scheme"] = "signed-sum"
    if args.noisy_gradient is not None and parse_bool(args.noisy_gradient, "--noisy_gradient"):
        paper["noise_variance"] = args.variance if args.variance is not None else 1e-4
    if args.gpu_num is not None:
        paper["device"] = f"cuda:{args.gpu_num}"
    if args.paper_batch_size is not None:
        paper["partition_size"] = args.paper_batch_size
    return paper | {k: v for k, v in ours.items() if v is not None}


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return build_config(
        overrides_from_args(args), config_file=args.config_file, env=_election_env()
    )


def _election_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith("ELECTION_")}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train one configuration (single machine, gRPC cluster or MPI)",
        description="Train with Election Coding (or a baseline); writes a run folder.",
    )
    add_training_flags(parser)
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    summary = run_training(cfg, progress=not args.quiet)
    print_summary(summary, as_json=args.json)
    return 0


def run_training(cfg: TrainConfig, *, progress: bool = True) -> dict[str, Any]:
    """Dispatch on the transport; every transport returns the same summary shape."""
    from election.training.setup import prepare

    if cfg.transport == "inprocess":
        from election.training.loop import train_inprocess

        return train_inprocess(prepare(cfg), progress=progress)
    if cfg.transport == "grpc":
        try:
            from master.cluster import train_grpc_cluster
        except ModuleNotFoundError as exc:
            raise ConfigError(f"transport=grpc is not available: {exc}") from exc
        return train_grpc_cluster(cfg, progress=progress)
    raise ConfigError(
        "transport=mpi runs under mpirun: `mpirun -n N+1 election mpi <the same flags>`"
    )


def print_summary(summary: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(summary, sort_keys=True))
        return
    final = ", ".join(f"{k} {v:.4f}" for k, v in summary["final"].items() if v is not None)
    print(f"finished {summary['steps']} steps: {final}")
    print(f"model sha256 {summary['model_sha256']}")
    print(f"run folder   {summary['run_dir']}", file=sys.stdout)
