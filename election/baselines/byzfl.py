"""ByzFL's robust aggregators and float attacks as baselines (optional extra ``byzfl``).

Install with ``pip install -e '.[byzfl]'`` (pins ``byzfl==0.0.11``). Nothing here is
reimplemented: each name maps to a ByzFL class, called on the (n_present, d) float32 stack of
the workers' messages (None = abstention, left out, as the project's median scheme does).
``byzfl`` is imported on first use only, never when ``election`` is imported.

Aggregators (f = the number of Byzantine workers tolerated, the run's b), as ByzFL defines them:
- ``median``:            coordinate-wise median (Yin et al. 2018);
- ``trimmed-mean``:      coordinate-wise mean after dropping the f largest and f smallest
                         (Yin et al. 2018; needs 2f < n);
- ``krum``:              the message minimising the sum of squared distances to its n - f - 1
                         nearest others (Blanchard et al. 2017; needs 2f < n);
- ``geometric-median``:  smoothed Weiszfeld iterations (Pillutla et al. 2022; ByzFL defaults
                         nu = 0.1, T = 3);
- ``centered-clipping``: v <- v + mean_j clip_tau(x_j - v), L iterations from the previous
                         round's output (Karimireddy et al. 2021; ByzFL defaults L = 1,
                         tau = 100). Stateful: keep one :class:`ByzflAggregator` per run.
Attacks on the float path (each returns the one vector every Byzantine worker sends, computed
from the honest messages, as ByzFL's attacks do):
- ``sign-flipping``: -mean(honest) (Allen-Zhu et al. 2020);
- ``ipm``:           -tau * mean(honest), tau = 2 (Xie et al. 2020, inner product manipulation);
- ``alie``:          mean(honest) + tau * std(honest), tau = 1.5 (Baruch et al. 2019).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import torch

from election.errors import ConfigError

PINNED = "byzfl==0.0.11"  # the version the adapter and its tests were written against
AGGREGATORS: dict[str, tuple[str, bool]] = {  # name -> (ByzFL class, takes f)
    "median": ("Median", False),
    "trimmed-mean": ("TrMean", True),
    "krum": ("Krum", True),
    "geometric-median": ("GeometricMedian", False),
    "centered-clipping": ("CenteredClipping", False),
}
ATTACKS: dict[str, str] = {  # name -> ByzFL class
    "sign-flipping": "SignFlipping",
    "ipm": "InnerProductManipulation",
    "alie": "ALittleIsEnough",
}


def load_byzfl() -> ModuleType:
    """The ``byzfl`` package, or a one-line ConfigError saying how to install it."""
    try:
        return importlib.import_module("byzfl")
    except ImportError as exc:
        raise ConfigError(
            f"the ByzFL baselines need the optional extra: pip install '.[byzfl]' ({PINNED}); "
            f"import failed: {exc}"
        ) from None


def _stack(messages: Sequence[torch.Tensor | None]) -> torch.Tensor:
    present = [m for m in messages if m is not None]
    if not present:
        raise ConfigError("ByzFL aggregation needs at least one message (all abstained)")
    return torch.stack([m.float() for m in present])  # (n_present, d) float32


class ByzflAggregator:
    """One ByzFL aggregator for a run: ``aggregate(messages) -> (d,) float32``."""

    def __init__(self, name: str, *, f: int = 0) -> None:
        if name not in AGGREGATORS:
            raise ConfigError(f"unknown ByzFL aggregator {name!r}; known: {', '.join(AGGREGATORS)}")
        if f < 0:
            raise ConfigError(f"f={f} must be >= 0")
        cls_name, takes_f = AGGREGATORS[name]
        cls = getattr(load_byzfl(), cls_name)
        self.name = name
        self.f = f
        self._impl: Callable[[torch.Tensor], Any] = cls(f=f) if takes_f else cls()

    def aggregate(self, messages: Sequence[torch.Tensor | None]) -> torch.Tensor:
        stacked = _stack(messages)
        if AGGREGATORS[self.name][1] and 2 * self.f >= stacked.shape[0]:
            raise ConfigError(f"{self.name} needs 2f < n: f={self.f}, n={stacked.shape[0]}")
        out = self._impl(stacked)
        return torch.as_tensor(out, dtype=torch.float32).reshape(-1)

    __call__ = aggregate


def aggregate(name: str, messages: Sequence[torch.Tensor | None], *, f: int = 0) -> torch.Tensor:
    """One-shot :class:`ByzflAggregator` (centered clipping then starts from 0 every call)."""
    return ByzflAggregator(name, f=f).aggregate(messages)


def float_attack(name: str) -> Callable[[Sequence[torch.Tensor]], torch.Tensor]:
    """ByzFL's attack ``name``: honest messages -> the (d,) float32 vector to send."""
    if name not in ATTACKS:
        raise ConfigError(f"unknown ByzFL attack {name!r}; known: {', '.join(ATTACKS)}")
    impl = getattr(load_byzfl(), ATTACKS[name])()

    def attack(honest: Sequence[torch.Tensor]) -> torch.Tensor:
        return torch.as_tensor(impl(_stack(list(honest))), dtype=torch.float32).reshape(-1)

    return attack
