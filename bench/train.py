"""``election bench train``: single-machine step time of Election Coding vs uncoded and recompute.

At the paper's setting (n = 5, b = 1, deterministic code with r = 3.8, ResNet-18, batch 120,
CIFAR-shaped inputs) it times, interleaved in one process:
    step_s            the coded step (each partition's gradient computed once)
    step_s_uncoded    the same run with G = I (r = 1)
    step_s_recompute  the coded step recomputing every assigned partition (the paper's main.py)
and reports ratio_vs_uncoded = step_s / step_s_uncoded (target <= 1.15) and
speedup_vs_recompute = step_s_recompute / step_s (target >= 3). Inputs are random tensors of
CIFAR shape: the benchmark measures compute, not data.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from election.data import Dataset

CIFAR_SHAPE = (3, 32, 32)
SYNTHETIC_TRAIN = 1200  # ten batches of 120
SYNTHETIC_TEST = 10


def synthetic_cifar(seed: int) -> Dataset:
    import torch

    from election.data import Dataset

    g = torch.Generator().manual_seed(seed)
    return Dataset(
        name="cifar10",
        train_x=torch.randn((SYNTHETIC_TRAIN, *CIFAR_SHAPE), generator=g),
        train_y=torch.randint(0, 10, (SYNTHETIC_TRAIN,), generator=g),
        test_x=torch.randn((SYNTHETIC_TEST, *CIFAR_SHAPE), generator=g),
        test_y=torch.randint(0, 10, (SYNTHETIC_TEST,), generator=g),
        num_classes=10,
        metric="accuracy",
        input_shape=CIFAR_SHAPE,
        num_features=None,
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help="coded vs uncoded vs recompute step time")
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--n", type=int, default=5)
    parser.add_argument("--b", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=120)
    parser.add_argument("--repeat", type=int, default=3, help="timed steps per variant")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch  # heavy imports stay out of `election --help`

    from election.config import build_config
    from election.training.loop import InProcessSystem
    from election.training.setup import prepare

    dataset = synthetic_cifar(args.seed)
    common = {
        "dataset": "cifar10",
        "model": args.model,
        "n": args.n,
        "b": args.b,
        "batch_size": args.batch_size,
        "attack": "reverse",
        "device": args.device,
        "seed": args.seed,
        "steps": 10_000,
    }
    variants = {
        "coded": build_config(common | {"code": "deterministic"}),
        "uncoded": build_config(common | {"code": "uncoded"}),
        "recompute": build_config(common | {"code": "deterministic", "recompute": True}),
    }
    systems = {
        name: InProcessSystem(prepare(cfg, dataset=dataset)) for name, cfg in variants.items()
    }
    times: dict[str, list[float]] = {name: [] for name in systems}
    for rep in range(args.repeat + 1):  # the first round warms up allocators and kernels
        for name, system in systems.items():
            sync(args.device)
            start = time.perf_counter()
            system.step(rep)
            sync(args.device)
            if rep > 0:
                times[name].append(time.perf_counter() - start)
    step_s = statistics.median(times["coded"])
    uncoded = statistics.median(times["uncoded"])
    recompute = statistics.median(times["recompute"])
    result = {
        "model": args.model,
        "n": args.n,
        "b": args.b,
        "redundancy": systems["coded"].setup.code.redundancy,
        "batch_size": args.batch_size,
        "device": args.device,
        "torch_threads": torch.get_num_threads(),
        "repeat": args.repeat,
        "step_s": round(step_s, 4),
        "step_s_uncoded": round(uncoded, 4),
        "step_s_recompute": round(recompute, 4),
        "ratio_vs_uncoded": round(step_s / uncoded, 4),
        "speedup_vs_recompute": round(recompute / step_s, 4),
    }
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    return 0


def sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()
