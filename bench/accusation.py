"""Accusation's cost at the master vs the packed majority, measured in the same run.

``python -m bench.accusation --json`` (the one loop's CLI will list it beside ``election bench
votes``) builds n = 15 votes of d = 11,173,962 coordinates the way an honest round makes them:
partition signs u_i = c * (-1)^{f_i} * z_i with a common sign c per coordinate, independent
flips f_i ~ Bernoulli(``--flip``) and zeros z_i ~ Bernoulli(``--zeros``) (real gradients are
correlated across partitions), E_j = sign(sum_{i in S_j} u_i) under the chosen code, then lets
the ``--attack`` workers (reverse, directional or random) replace theirs. It times, best and
median over ``--repeat`` calls, the packed majority (:func:`election.votes.majority`) and one
:meth:`election.accusation.Accuser.observe` per round (proofs, scores, telemetry; a new seeded
sample every round, steady state after a warm-up round). Target: accusation <= 10 % of the
packed majority at n = 15, d = 11,173,962 (``ratio`` <= 0.10).

Also timed: the master's round on its critical path, the packed majority, the update unpacked
to a (d,) float32 tensor and the master-momentum step (v = m v + s + wd p; p -= lr v,
:class:`election.training.optimizers.MasterMomentum`); ``round_ratio_*`` = accusation / that.
The training loop runs the accusation after the broadcast (docs/accusation.md), so over gRPC
and MPI it overlaps the workers' next round; in-process it adds ``round_ratio`` to the round.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence

import numpy as np

from bench import standalone_main
from election.accusation import Accuser
from election.accusation.monitor import DEFAULT_WINDOW_BYTES, DEFAULT_WINDOWS
from election.codes.registry import make_code
from election.errors import ConfigError
from election.votes import PackedVote, majority, pack_ternary

TARGET_RATIO = 0.10  # accusation may add at most 10 % to the master's aggregation time
MOMENTUM = 0.9  # the master-momentum step of the timed round (the CIFAR-10 preset's)
WEIGHT_DECAY = 1e-4  # likewise


def honest_votes(matrix: np.ndarray, d: int, *, flip: float, zeros: float, seed: int) -> np.ndarray:
    """(n, d) int8 honest votes from correlated partition signs (module docstring)."""
    rng = np.random.default_rng(seed)
    common = (1 - 2 * rng.integers(0, 2, size=d, dtype=np.int8)).astype(np.int8)  # (d,)
    parts = np.empty((matrix.shape[1], d), dtype=np.int8)  # (n_partitions, d) int8 u_i
    for i in range(matrix.shape[1]):
        sign = np.where(rng.random(d, dtype=np.float32) < flip, -common, common)
        parts[i] = sign * (rng.random(d, dtype=np.float32) >= zeros)
    votes = np.empty((matrix.shape[0], d), dtype=np.int8)
    for j, row in enumerate(matrix):
        votes[j] = np.sign(parts[row.astype(bool)].sum(axis=0, dtype=np.int16))
    return votes


def attacked(votes: np.ndarray, byz: Sequence[int], attack: str, seed: int) -> np.ndarray:
    out = votes.copy()
    rng = np.random.default_rng([seed, 1])
    for j in byz:
        if attack == "reverse":
            out[j] = -votes[j]
        elif attack == "directional":
            out[j] = 1
        elif attack == "random":
            out[j] = (1 - 2 * rng.integers(0, 2, size=votes.shape[1], dtype=np.int8)).astype(
                np.int8
            )
    return out


def _times(fn, repeat: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def master_round(votes: list[PackedVote | None], d: int) -> Callable[[], None]:
    """The master's critical-path work of one round (module docstring), as a closure."""
    import torch

    from election.training.optimizers import MasterMomentum, StepSchedule
    from election.votes.torch_ops import unpack_to_torch

    params = torch.zeros(d, dtype=torch.float32)  # (d,) float32 flat model
    optimizer = MasterMomentum(
        schedule=StepSchedule(lr=1e-4), momentum=MOMENTUM, weight_decay=WEIGHT_DECAY
    )

    def one_round() -> None:
        update = unpack_to_torch(majority(votes), "cpu")  # (d,) float32
        optimizer.step(params, update, epoch=0)

    return one_round


def measure(args: argparse.Namespace) -> dict:
    code = make_code(args.code, n=args.n, b=args.b, r=args.r, seed=args.seed)
    matrix = np.asarray(code.matrix)
    byz = list(range(args.b)) if args.attack != "none" else []
    values = attacked(
        honest_votes(matrix, args.d, flip=args.flip, zeros=args.zeros, seed=args.seed),
        byz,
        args.attack,
        args.seed,
    )
    votes: list[PackedVote | None] = [pack_ternary(v) for v in values]
    del values
    decoded = majority(votes)
    t_build = time.perf_counter()
    accuser = Accuser(
        matrix, b=args.b, seed=args.seed, windows=args.windows, window_bytes=args.window_bytes
    )
    build_s = time.perf_counter() - t_build
    t_first = time.perf_counter()
    first = accuser.observe(0, votes, decoded)
    first_s = time.perf_counter() - t_first
    t_major = _times(lambda: majority(votes), args.repeat)
    t_round = _times(master_round(votes, args.d), args.repeat)
    steps = iter(range(1, 10**9))
    t_accuse = _times(lambda: accuser.observe(next(steps), votes, decoded), args.repeat)
    last = accuser.observe(next(steps), votes, decoded)
    best_ratio = min(t_accuse) / min(t_major)
    median_ratio = statistics.median(t_accuse) / statistics.median(t_major)
    return {
        "n": args.n,
        "d": args.d,
        "code": args.code,
        "b": args.b,
        "attack": args.attack,
        "byzantine": byz,
        "windows": args.windows,
        "window_bytes": args.window_bytes,
        "coords_per_round": last.accusation.coords,
        "table_patterns": int(accuser.table.keys.size),
        "table_exact": accuser.table.exact,
        "table_build_s": round(build_s, 3),
        "first_round_ms": round(first_s * 1e3, 3),
        "majority_ms": round(min(t_major) * 1e3, 3),
        "majority_median_ms": round(statistics.median(t_major) * 1e3, 3),
        "accusation_ms": round(min(t_accuse) * 1e3, 3),
        "accusation_median_ms": round(statistics.median(t_accuse) * 1e3, 3),
        "master_round_ms": round(min(t_round) * 1e3, 3),
        "master_round_median_ms": round(statistics.median(t_round) * 1e3, 3),
        "round_ratio_best": round(min(t_accuse) / min(t_round), 4),
        "round_ratio_median": round(statistics.median(t_accuse) / statistics.median(t_round), 4),
        "ratio_best": round(best_ratio, 4),
        "ratio_median": round(median_ratio, 4),
        "target_ratio": TARGET_RATIO,
        "proven_first_round": list(first.accusation.proven),
        "proven_last_round": list(last.accusation.proven),
        "inconsistent_last_round": last.accusation.inconsistent,
        "repeat": args.repeat,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "machine": platform.processor() or platform.machine(),
    }


def run(args: argparse.Namespace) -> int:
    if args.n < 1 or args.d < 8 or args.repeat < 1 or min(args.windows, args.window_bytes) < 1:
        raise ConfigError("--n, --repeat, --windows, --window-bytes must be >= 1 and --d >= 8")
    if args.attack != "none" and args.b < 1:
        raise ConfigError(f"--attack {args.attack} needs --b >= 1")
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    result = measure(args)
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=15, help="workers")
    parser.add_argument("--d", type=int, default=11_173_962, help="coordinates (ResNet-18)")
    parser.add_argument("--code", default="deterministic", help="code kind")
    parser.add_argument("--b", type=int, default=3, help="Byzantine workers (and the bound)")
    parser.add_argument("--r", type=float, default=3.0, help="Bernoulli redundancy")
    parser.add_argument(
        "--attack", choices=("none", "reverse", "directional", "random"), default="reverse"
    )
    parser.add_argument("--flip", type=float, default=0.2, help="P(partition sign != common)")
    parser.add_argument("--zeros", type=float, default=0.01, help="P(partition sign = 0)")
    parser.add_argument("--windows", type=int, default=DEFAULT_WINDOWS, help="windows per round")
    parser.add_argument("--window-bytes", type=int, default=DEFAULT_WINDOW_BYTES, help="bytes each")
    parser.add_argument("--repeat", type=int, default=7, help="timed calls (best and median)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="one-line JSON")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("accusation", help="accusation cost vs packed majority (JSON)")
    add_arguments(parser)
    parser.set_defaults(func=run)


def main(argv: Sequence[str] | None = None) -> int:
    return standalone_main("python -m bench.accusation", __doc__, add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
