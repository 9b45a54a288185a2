"""The behaviour lock: fixed configurations and the ``model_sha256`` each must train to.

Recorded once (``python -m tests.contract.lock --write``) from the tree BEFORE a refactor that
must not change behaviour, after checking that every transport agrees; the test
``test_model_digests.py`` then holds every transport to the recorded digests. The cases cover
every scheme, every code kind, each attack family, both decoders, both optimizer placements,
digits, Fashion-MNIST and the Amazon seed protocol. A perfect code under attack trains to the
attack-free model (that is its guarantee), so the attack families are locked on the uncoded and
Bernoulli codes, where an attack changes the model.

    python -m tests.contract.lock                 # run every case on every transport, compare
    python -m tests.contract.lock --write         # ... and (re)write model_digests.json

Digests are kept per platform (``float_platform``: CPU vendor and torch's vector kernels): the
last bits of the BLAS, convolution and vector kernels differ between, say, an AMD AVX2 CPU and an
Intel AVX-512 one, which moves the float-gradient baselines after one step and a CNN's signs on
near-zero coordinates. ``--write`` on a new platform adds its digests and keeps the others'; on a
platform with no recording the lock test skips, saying so (the transport contract suite still
holds every transport to the in-process run on the same machine).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
from pathlib import Path
from typing import Any

from election.config import TrainConfig, build_config
from election.data import amazon, fashion_mnist

LOCK_FILE = Path(__file__).with_name("model_digests.json")

# Every case: a few steps on a few hundred samples, one torch thread (bitwise deterministic).
# The decoder is always explicit, so a change of the default decoder does not move a digest.
BASE: dict[str, Any] = {
    "dataset": "digits",
    "decoder": "plain",
    "num_train": 300,
    "steps": 6,
    "threads": 1,
    "eval_every": 3,
}
FASHION: dict[str, Any] = {
    "dataset": "fashion-mnist",
    "num_train": 240,
    "steps": 4,
    "eval_every": 2,
}
AMAZON: dict[str, Any] = {
    "dataset": "amazon",
    "optimizer": "partition-momentum",
    "lr": 1e-3,
    "partition_size": 15,
    "num_train": 600,
    "steps": 5,
    "eval_every": 5,
}

CASES: dict[str, dict[str, Any]] = {
    "majority-deterministic-reverse": {"code": "deterministic", "attack": "reverse"},
    "majority-deterministic-quorum-reverse": {
        "code": "deterministic",
        "decoder": "quorum",
        "attack": "reverse",
    },
    "majority-uncoded-omniscient-heaviest": {
        "code": "uncoded",
        "attack": "omniscient",
        "byzantine_select": "heaviest",
    },
    "majority-bernoulli-plain-abstain": {
        "code": "bernoulli",
        "r": 2.0,
        "decoder": "plain",
        "attack": "abstain",
    },
    "majority-ternary-quorum-directional": {
        "n": 7,
        "b": 2,
        "code": "ternary",
        "decoder": "quorum",
        "attack": "directional",
        "byzantine_select": "heaviest",
    },
    "majority-bernoulli-random": {"code": "bernoulli", "r": 2.0, "attack": "random"},
    "majority-uncoded-directional": {"code": "uncoded", "attack": "directional"},
    "majority-bernoulli-crash": {"n": 7, "b": 2, "code": "bernoulli", "r": 2.0, "attack": "crash"},
    "majority-bernoulli-quorum-directional": {
        "code": "bernoulli",
        "r": 2.0,
        "decoder": "quorum",
        "attack": "directional",
    },
    "majority-no-attack": {"code": "uncoded", "b": 0, "attack": "none"},
    "signed-sum-bernoulli-reverse": {
        "scheme": "signed-sum",
        "code": "bernoulli",
        "r": 2.0,
        "attack": "reverse",
    },
    "median-uncoded-reverse": {"scheme": "median", "code": "uncoded", "attack": "reverse"},
    "sgd-uncoded-none": {"scheme": "sgd", "code": "uncoded", "b": 0, "attack": "none"},
    "partition-momentum-deterministic-directional": {
        "optimizer": "partition-momentum",
        "code": "deterministic",
        "attack": "directional",
    },
    "noise-bernoulli-reverse": {
        "code": "bernoulli",
        "r": 2.0,
        "noise_variance": 1e-4,
        "attack": "reverse",
    },
    "sign-of-sum-bernoulli-worker-noise": {
        "scheme": "sign-of-sum",
        "code": "bernoulli",
        "r": 2.0,
        "worker_noise_std": 1e-2,
        "attack": "reverse",
    },
    "majority-bernoulli-recompute-no-redraw": {
        "code": "bernoulli",
        "r": 2.0,
        "redraw": False,
        "recompute": True,
        "attack": "directional",
    },
    "amazon-seed-protocol-partition-momentum": AMAZON
    | {"code": "bernoulli", "r": 2.0, "attack": "directional", "protocol": "seed"},
    "fashion-deterministic-reverse": FASHION | {"code": "deterministic", "attack": "reverse"},
    "fashion-bernoulli-omniscient-partition-momentum": FASHION
    | {
        "code": "bernoulli",
        "r": 2.0,
        "attack": "omniscient",
        "optimizer": "partition-momentum",
    },
}


def missing_data(case: str) -> str:
    """Why the case cannot run on this machine ("" when its dataset is present)."""
    dataset = CASES[case].get("dataset")
    if dataset == "fashion-mnist" and fashion_mnist.find_files(None) is None:
        return "no Fashion-MNIST IDX files where the loader looks"
    if dataset == "amazon" and not any(p.is_file() for p in amazon.candidate_paths(None)):
        return "no Amazon train.csv where the loader looks"
    return ""


def config(case: str, runs_dir: Path) -> TrainConfig:
    """The case's configuration, writing its run folders under ``runs_dir``."""
    return build_config(BASE | CASES[case] | {"runs_dir": str(runs_dir)})


BY_PLATFORM = "model_sha256_by_platform"  # each entry: platform -> digest


def float_platform() -> str:
    """What float-gradient digests depend on: CPU vendor and torch's vector kernels, for
    example ``AuthenticAMD/AVX2`` or ``GenuineIntel/AVX512``."""
    import torch

    vendor = platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("vendor_id"):
                vendor = line.split(":", 1)[1].strip()
                break
    return f"{vendor}/{torch.backends.cpu.get_cpu_capability()}"


def lock_entries() -> dict[str, Any]:
    """case -> its entry in model_digests.json ({} before the first recording)."""
    if not LOCK_FILE.is_file():
        return {}
    entries: dict[str, Any] = json.loads(LOCK_FILE.read_text())
    return entries


def load_lock() -> dict[str, str]:
    """case -> recorded model_sha256 on this platform ({} on a platform never recorded)."""
    here = float_platform()
    found = {case: entry[BY_PLATFORM].get(here) for case, entry in lock_entries().items()}
    return {case: digest for case, digest in found.items() if digest is not None}


def _inprocess(cfg: TrainConfig, workdir: Path) -> dict[str, Any]:
    from election.training.loop import train_inprocess
    from election.training.setup import prepare

    return train_inprocess(prepare(cfg.replace(runs_dir=str(workdir / "runs"))), progress=False)


def main(argv: list[str] | None = None) -> int:
    from tests.contract.runners import RUNNERS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite model_digests.json")
    parser.add_argument("--transports", default=",".join(RUNNERS), help="comma-separated")
    args = parser.parse_args(argv)
    transports = [t for t in args.transports.split(",") if t]
    recorded: dict[str, Any] = lock_entries()  # cases that cannot run here keep their entry
    here = float_platform()
    disagreements = 0
    for case in CASES:
        if why := missing_data(case):
            print(f"{case}: skipped ({why})", file=sys.stderr)
            continue
        with tempfile.TemporaryDirectory() as tmp:
            cfg = config(case, Path(tmp))
            digests = {"inprocess": _inprocess(cfg, Path(tmp) / "inprocess")["model_sha256"]}
            for name in transports:
                (Path(tmp) / name).mkdir()
                summary = RUNNERS[name](cfg, Path(tmp) / name)
                digests[name] = summary["model_sha256"]
        agree = len(set(digests.values())) == 1
        disagreements += not agree
        print(f"{case}: {'agree' if agree else 'DISAGREE'} {digests}", file=sys.stderr, flush=True)
        others = recorded.get(case, {}).get(BY_PLATFORM, {})
        recorded[case] = {
            "config": BASE | CASES[case],
            BY_PLATFORM: others | {here: digests["inprocess"]},
            "transports": sorted(digests),
        }
    if disagreements:
        print(f"{disagreements} case(s) disagree across transports; not written", file=sys.stderr)
        return 1
    if args.write:
        LOCK_FILE.write_text(json.dumps(recorded, indent=2, sort_keys=True) + "\n")
        print(f"wrote {LOCK_FILE} ({len(recorded)} cases)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
