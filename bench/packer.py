"""``election bench packer``: the torch sign packer on a device against the numpy oracle.

For each zero fraction (dense, sparse zeros -> uint32 index list, many zeros -> bit-plane mask)
it draws random ternary signs of d coordinates, packs them on ``--device`` with
:func:`election.votes.torch_ops.pack_ternary_torch` (only packed bytes cross to the host,
docs/vote_layout.md) and on the CPU with :func:`election.votes.pack_ternary`, and requires the
two to be equal byte for byte; it also unpacks the packed vote back on the device
(:func:`unpack_to_torch`) and compares with the signs. Times: median of ``--repeat`` device
packs (synchronized, after a warm-up) and of the numpy packs. One JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from election.errors import ConfigError

if TYPE_CHECKING:
    import torch

ZERO_FRACS = (0.0, 0.005, 0.4)  # dense / index list / mask (the three wire encodings)
RESNET18_D = 11_173_962


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("packer", help="torch sign packer on a device vs numpy")
    parser.add_argument("--d", type=int, default=RESNET18_D, help="coordinates (ResNet-18)")
    parser.add_argument("--device", default="cpu", help="torch device: cpu | cuda | cuda:K")
    parser.add_argument("--repeat", type=int, default=5, help="timed packs per case")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="(always JSON; for symmetry)")
    parser.set_defaults(func=run)


def _median_ms(fn: Callable[[], object], repeat: int, sync: Callable[[], None]) -> float:
    fn()  # warm-up: kernels, allocator
    times = []
    for _ in range(repeat):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _case(signs: np.ndarray, device: torch.device, repeat: int) -> dict[str, object]:
    """Pack ``signs`` ((d,) int8) on ``device`` and with numpy; compare, round-trip, time."""
    import torch

    from election.votes import pack_ternary
    from election.votes.torch_ops import pack_ternary_torch, unpack_to_torch

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    on_device = torch.from_numpy(signs).to(device)  # (d,) int8 on the device
    expected = pack_ternary(signs)
    got = pack_ternary_torch(on_device)
    back = unpack_to_torch(got, device, torch.int8)  # (d,) int8 on the device
    torch_ms = _median_ms(lambda: pack_ternary_torch(on_device), repeat, sync)
    numpy_ms = _median_ms(lambda: pack_ternary(signs), repeat, lambda: None)
    return {
        "zero_kind": got.zero_kind.name,
        "same_bytes": got == expected and got.zero_kind == expected.zero_kind,
        "round_trip": bool(torch.equal(back, on_device)),
        "torch_ms": round(torch_ms, 3),
        "numpy_ms": round(numpy_ms, 3),
    }


def run(args: argparse.Namespace) -> int:
    import torch

    from election.training.setup import resolve_device

    if args.d < 1 or args.repeat < 1:
        raise ConfigError("--d and --repeat must be >= 1")
    device = resolve_device(args.device)
    rng = np.random.default_rng(args.seed)
    cases = []
    for frac in ZERO_FRACS:
        signs = rng.choice(np.array([-1, 1], dtype=np.int8), size=args.d)  # (d,) int8
        signs[rng.random(args.d) < frac] = 0
        cases.append({"zeros_frac": frac} | _case(signs, device, args.repeat))
    result = {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "d": args.d,
        "repeat": args.repeat,
        "torch": torch.__version__,
        "all_same": all(c["same_bytes"] and c["round_trip"] for c in cases),
        "cases": cases,
    }
    print(json.dumps(result))
    return 0 if result["all_same"] else 1
