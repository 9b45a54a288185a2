"""Everything a node derives from the configuration, identically on every node.

Given the same :class:`TrainConfig`, the master, every worker, every MPI rank and the in-process
loop build the same dataset, code G, Byzantine set, attack and step count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from election.attacks import MOBILE, Attack, byzantine_set, ever_byzantine, make_attack
from election.codes import AllocationCode, make_code
from election.config import TrainConfig
from election.data import Dataset, load_dataset
from election.errors import ConfigError
from election.notices import warn
from election.training.batches import steps_per_epoch
from election.training.schemes import Scheme, scheme_for


@dataclass(frozen=True)
class Setup:
    cfg: TrainConfig
    scheme: Scheme  # cfg.scheme resolved once, bound to the decoder
    dataset: Dataset
    code: AllocationCode
    byzantine: tuple[int, ...]  # slots that attack in some round (empty when attack is "none")
    attack: Attack
    device: torch.device
    steps_per_epoch: int
    total_steps: int

    @property
    def matrix(self) -> np.ndarray:
        return np.asarray(self.code.matrix)  # (n_workers, n_partitions) uint8

    @property
    def mobile(self) -> bool:
        """The Byzantine set is redrawn every round (byzantine_select=mobile)."""
        return self.cfg.byzantine_select == MOBILE and bool(self.byzantine)

    def byzantine_at(self, step: int) -> tuple[int, ...]:
        """The Byzantine slots of round ``step`` (``byzantine`` unless the set is mobile)."""
        if not self.mobile:
            return self.byzantine
        cfg = self.cfg
        return byzantine_set(step, MOBILE, matrix=self.matrix, b=cfg.b, seed=cfg.seed)

    def partitions_of(self, worker: int) -> tuple[int, ...]:
        return tuple(int(i) for i in np.flatnonzero(self.matrix[worker]))

    def epoch_of(self, step: int) -> int:
        return step // self.steps_per_epoch


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise ConfigError(
            f"device={name!r} is not a torch device (auto, cpu, cuda, cuda:K)"
        ) from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device={name!r} requested but CUDA is not available on this machine")
    return device


def build_code(cfg: TrainConfig, scheme: Scheme | None = None) -> AllocationCode:
    """G for the config; idle workers or unused partitions get one warning line."""
    if cfg.code.startswith("file:"):
        code = make_code("file", n=cfg.n, b=cfg.b, path=cfg.code[len("file:") :])
    elif cfg.code in ("deterministic", "paper-r3.8"):
        code = make_code(cfg.code, n=cfg.n, b=cfg.b)
    else:
        code = make_code(cfg.code, n=cfg.n, b=cfg.b, r=cfg.r, seed=cfg.seed, redraw=cfg.redraw)
    _warn_gaps(cfg, scheme or scheme_for(cfg), code)
    return code


def _ids(noun: str, ids: tuple[int, ...]) -> str:
    """ "worker 3 holds", "workers 3, 5 hold", "partition 2 is held", "partitions 2, 4 are held"."""
    many = len(ids) > 1
    verbs = {"worker": ("holds", "hold"), "partition": ("is held", "are held")}
    verb = verbs[noun][many]
    return f"{noun}{'s' if many else ''} {', '.join(map(str, ids))} {verb}"


def _warn_gaps(cfg: TrainConfig, scheme: Scheme, code: AllocationCode) -> None:
    empty, uncovered = code.empty_rows(), code.uncovered_columns()
    if empty and not scheme.idle_votes_zero:
        raise ConfigError(
            f"code {cfg.code}: workers {list(empty)} hold no partition, so they have no "
            f"gradient to send under scheme={cfg.scheme}"
        )
    parts = []
    if empty:
        parts.append(f"{_ids('worker', empty)} no partition (they vote 0)")
    if uncovered:
        parts.append(f"{_ids('partition', uncovered)} by no worker (its data is never used)")
    if parts:
        warn(f"code {cfg.code} (r = {code.redundancy:.2f}): " + "; ".join(parts))


def prepare(cfg: TrainConfig, *, dataset: Dataset | None = None) -> Setup:
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if dataset is None:
        dataset = load_dataset(
            cfg.dataset,
            root=cfg.data_root or None,
            num_train=cfg.num_train or None,
            protocol=cfg.protocol,
        )
    scheme = scheme_for(cfg)
    code = build_code(cfg, scheme)
    if code.n != cfg.n:
        raise ConfigError(f"code has {code.n} workers but n={cfg.n}")
    attack = make_attack(cfg.attack)
    per_epoch = steps_per_epoch(dataset.n_train, cfg.batch_size)
    total = cfg.steps if cfg.steps else cfg.epochs * per_epoch
    byzantine: tuple[int, ...] = ()
    if cfg.attack != "none":
        matrix = np.asarray(code.matrix)
        byzantine = ever_byzantine(
            cfg.byzantine_select, matrix=matrix, b=cfg.b, seed=cfg.seed, rounds=total
        )
    return Setup(
        cfg=cfg,
        scheme=scheme,
        dataset=dataset,
        code=code,
        byzantine=byzantine,
        attack=attack,
        device=resolve_device(cfg.device),
        steps_per_epoch=per_epoch,
        total_steps=total,
    )
