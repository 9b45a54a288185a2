"""The official single-machine code's flags (cifar10/main.py) with their official meaning.

A command that uses any of the paper's flags is read as main.py reads its command line: the
paper flags it does not give take main.py's defaults (``PAPER_DEFAULTS``), then

    allocation  --coord_median True            -> identity, coordinate-wise median
                --deterministic True, R = 1.0  -> identity (SignSGD-MV)
                --deterministic True, R = 3.8  -> the paper's n = 5 matrix (code "paper-r3.8")
                otherwise                      -> Bernoulli p = R / n, redrawn until no row is
                                                  empty (R = --redundancy, default 1.0)
    votes       --signed_sum True              -> scheme "sign-of-sum" (the intent; see below)
                --noisy_gradient True          -> honest workers add V * N(0, 1) per (worker,
                                                  partition), V = --variance (a std)
    the rest    --num_nodes n, --num_Byz_nodes b, --batch_size B (the global batch),
                --trial_idx (the seed), --attack_type, --network, --num_epochs, --gpu_num, --lr

Values from given flags are ``explicit``; values from main.py's defaults are ``implied``. A
project flag given in the same command overrides an implied value and must agree with an
explicit one (otherwise ConfigError). main.py's --network/--lr/--num_epochs/--batch_size
defaults are CIFAR-10 settings that the dataset preset already carries, and --gpu_num's default
names a GPU; those apply only when given. docs/paper.md has the table with the official lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from election.config import parse_bool
from election.errors import ConfigError

# main.py's argparse defaults for the flags that shape a run (main.py:39-49).
PAPER_DEFAULTS: dict[str, Any] = {
    "num_nodes": 5,
    "num_Byz_nodes": 0,
    "deterministic": False,
    "redundancy": 1.0,
    "coord_median": False,
    "signed_sum": False,
    "noisy_gradient": False,
    "variance": 0.0,
    "trial_idx": 1,
    "attack_type": "reverse",
}
BOOL_FLAGS = ("deterministic", "coord_median", "signed_sum", "noisy_gradient")
# Every paper flag, by argparse dest (--batch_size's dest is paper_batch_size; --lr is shared).
PAPER_FLAGS = (
    *PAPER_DEFAULTS,
    "paper_batch_size",
    "network",
    "num_epochs",
    "gpu_num",
)
# main.py:49 choices -> our attack registry. main.py:141 sends -1 for "directional".
PAPER_ATTACKS = {"reverse": "reverse", "directional": "directional-neg", "random": "random"}
PAPER_NETWORKS = {"resnet18": "resnet18", "resnet50": "resnet50"}  # main.py:32 choices
PAPER_R38 = 3.8  # main.py:318: the only deterministic redundancy besides 1.0
# How a config key is spelled as a project flag and as a paper flag, for error messages.
PROJECT_FLAG = {
    "n": "--n",
    "b": "--b",
    "code": "--code",
    "r": "--r",
    "scheme": "--scheme",
    "seed": "--seed",
    "attack": "--attack",
    "model": "--model",
    "epochs": "--epochs",
    "device": "--device",
    "batch_size": "--batch-size",
    "worker_noise_std": "--worker-noise-std",
}


@dataclass(frozen=True)
class Translation:
    """Config values from the paper's flags, split by where they came from."""

    explicit: dict[str, Any] = field(default_factory=dict)  # from flags the command gives
    implied: dict[str, Any] = field(default_factory=dict)  # from main.py's defaults
    sources: dict[str, str] = field(default_factory=dict)  # config key -> paper flag(s)
    notices: tuple[str, ...] = ()

    def merged(self, ours: Mapping[str, Any]) -> dict[str, Any]:
        """implied <- project flags <- explicit, after checking the two explicit layers agree."""
        for key, value in self.explicit.items():
            mine = ours.get(key)
            if mine is not None and mine != value:
                ours_flag = PROJECT_FLAG.get(key, "--" + key.replace("_", "-"))
                raise ConfigError(
                    f"{self.sources[key]} means {key}={value!r} but {ours_flag} says {mine!r}; "
                    "give one of them"
                )
        return self.implied | {k: v for k, v in ours.items() if v is not None} | self.explicit


def given_paper_flags(args: Any) -> dict[str, Any]:
    """The paper flags present on an argparse namespace (None = not given)."""
    return {k: getattr(args, k) for k in PAPER_FLAGS if getattr(args, k, None) is not None}


def translate(given: Mapping[str, Any], *, ours: Mapping[str, Any] | None = None) -> Translation:
    """Translate the paper flags ``given`` (dest -> raw value); empty -> an empty Translation.

    ``ours`` (the project flags given, by config key) is only used to name conflicts between
    paper flags and project flags that have no config key in common.
    """
    if not given:
        return Translation()
    ours = ours or {}
    vals = dict(PAPER_DEFAULTS)
    for key, value in given.items():
        vals[key] = parse_bool(value, f"--{key}") if key in BOOL_FLAGS else value
    t = _Builder(given)
    _system(t, vals)
    _allocation(t, vals)
    _noise(t, vals, ours)
    _rest(t, given, vals, ours)
    return Translation(t.explicit, t.implied, t.sources, tuple(t.notices))


class _Builder:
    def __init__(self, given: Mapping[str, Any]) -> None:
        self.given = given
        self.explicit: dict[str, Any] = {}
        self.implied: dict[str, Any] = {}
        self.sources: dict[str, str] = {}
        self.notices: list[str] = []

    def put(self, key: str, value: Any, *flags: str) -> None:
        named = [f for f in flags if f in self.given]
        layer = self.explicit if named else self.implied
        layer[key] = value
        self.sources[key] = " ".join(_spell(f, self.given[f]) for f in named) or flags[0]


def _spell(flag: str, value: Any) -> str:
    name = "batch_size" if flag == "paper_batch_size" else flag
    return f"--{name} {value}"


def _system(t: _Builder, vals: dict[str, Any]) -> None:
    """n, b, seed and the attack (main.py:47-49, 133-143, 275, 285)."""
    t.put("n", int(vals["num_nodes"]), "num_nodes")
    t.put("b", int(vals["num_Byz_nodes"]), "num_Byz_nodes")
    t.put("seed", int(vals["trial_idx"]), "trial_idx")
    attack = str(vals["attack_type"])
    if attack not in PAPER_ATTACKS:
        raise ConfigError(
            f"--attack_type {attack!r}: main.py accepts {', '.join(PAPER_ATTACKS)} (main.py:49)"
        )
    t.put("attack", PAPER_ATTACKS[attack], "attack_type")


def _allocation(t: _Builder, vals: dict[str, Any]) -> None:
    """The code and the scheme (main.py:99, 145-146, 165, 307-319)."""
    median, signed = vals["coord_median"], vals["signed_sum"]
    det, r, n = vals["deterministic"], float(vals["redundancy"]), int(vals["num_nodes"])
    if median and signed:
        raise ConfigError(
            "--coord_median True and --signed_sum True contradict: main.py:99 runs the median "
            "branch and ignores --signed_sum"
        )
    if median and "redundancy" in t.given and r != 1.0:
        raise ConfigError(
            f"--coord_median True uses the identity allocation (main.py:316); "
            f"--redundancy {r} contradicts it"
        )
    if median and vals["attack_type"] != "reverse" and int(vals["num_Byz_nodes"]) > 0:
        raise ConfigError(
            f"--coord_median True with --attack_type {vals['attack_type']}: main.py implements "
            "only the reverse attack there (main.py:197-201)"
        )
    scheme = "median" if median else "sign-of-sum" if signed else "majority"
    t.put("scheme", scheme, "coord_median", "signed_sum")
    code_flags = ("deterministic", "redundancy", "coord_median")
    if median or (det and r == 1.0):
        t.put("code", "uncoded", *code_flags)
    elif det and r == PAPER_R38:
        if n != 5:
            raise ConfigError(
                f"--deterministic True --redundancy 3.8 is the paper's n = 5 matrix "
                f"(main.py:318-319); --num_nodes {n} does not fit it"
            )
        t.put("code", "paper-r3.8", *code_flags)
        t.notices.extend(_r38_notice(int(vals["num_Byz_nodes"])))
    elif det:
        raise ConfigError(
            f"--deterministic True --redundancy {r}: main.py has a deterministic matrix only "
            "for redundancy 1.0 (identity) and 3.8 (n = 5) (main.py:316-319); use "
            "--code deterministic for the project's minimal codes"
        )
    else:
        t.put("code", "bernoulli", *code_flags)
        t.put("r", r, "redundancy")


def _r38_notice(b: int) -> list[str]:
    """One line when the paper's r = 3.8 matrix is used with more attackers than it tolerates."""
    import numpy as np

    from election.codes import verify
    from election.codes.registry import PAPER_R38_MATRIX

    if b == 0 or verify(np.array(PAPER_R38_MATRIX), b).perfect:
        return []
    return [
        f"the paper's n = 5, r = 3.8 matrix (main.py:318-319) is perfectly 1-Byzantine-tolerant "
        f"only, not {b}: with --num_Byz_nodes {b} attackers can flip the majority (as in the "
        "paper's Fig. 5(a) and A.1 lines of run.sh)"
    ]


def _noise(t: _Builder, vals: dict[str, Any], ours: Mapping[str, Any]) -> None:
    """--noisy_gradient/--variance (main.py:148-149): V is a standard deviation."""
    noisy, variance = vals["noisy_gradient"], float(vals["variance"])
    if "variance" in t.given and not noisy:
        raise ConfigError(
            f"--variance {variance} has no effect without --noisy_gradient True (main.py:148)"
        )
    if not noisy:
        return
    if vals["signed_sum"] or vals["coord_median"]:
        other = "--signed_sum" if vals["signed_sum"] else "--coord_median"
        raise ConfigError(
            f"--noisy_gradient True has no effect with {other} True: main.py adds the noise only "
            "on the majority path (main.py:145-149, 165-203)"
        )
    if ours.get("noise_variance") is not None:
        raise ConfigError(
            "--noisy_gradient True (per-worker noise with std --variance) and --noise-variance "
            "(one shared draw per partition) are two noise models; give one of them"
        )
    t.put("worker_noise_std", variance, "noisy_gradient", "variance")


def _rest(
    t: _Builder, given: Mapping[str, Any], vals: dict[str, Any], ours: Mapping[str, Any]
) -> None:
    """--batch_size, --network, --num_epochs, --gpu_num (main.py:32-38, 53, 114)."""
    if "paper_batch_size" in given:
        batch, n = int(given["paper_batch_size"]), int(vals["num_nodes"])
        if batch < n or batch % n:
            raise ConfigError(
                f"--batch_size {batch} is not divisible by --num_nodes {n}: each of the n "
                "partitions is batch/n samples of the step's batch (main.py:114)"
            )
        if ours.get("partition_size") is not None:
            raise ConfigError(
                f"--batch_size {batch} (the global batch) and --partition-size contradict; "
                "give one of them"
            )
        t.put("batch_size", batch, "paper_batch_size")
    if "network" in given:
        key = "".join(ch for ch in str(given["network"]).lower() if ch.isalnum())
        if key not in PAPER_NETWORKS:
            raise ConfigError(
                f"--network {given['network']!r}: main.py accepts ResNet18 or ResNet50 (main.py:32)"
            )
        t.put("model", PAPER_NETWORKS[key], "network")
    if "num_epochs" in given:
        t.put("epochs", int(given["num_epochs"]), "num_epochs")
    if "gpu_num" in given:
        t.put("device", gpu_device(int(given["gpu_num"])), "gpu_num")


def gpu_device(index: int) -> str:
    """main.py:53: cuda:K when CUDA is available, else the CPU; a missing GPU K is an error."""
    import torch

    if not torch.cuda.is_available():
        return "cpu"
    count = torch.cuda.device_count()
    if not 0 <= index < count:
        raise ConfigError(f"--gpu_num {index}: this machine has {count} CUDA device(s)")
    return f"cuda:{index}"
