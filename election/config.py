"""Typed training configuration, built once: defaults -> dataset preset -> file -> env -> CLI.

Every number the paper fixes is a named default here with a one-line comment. The per-dataset
presets carry the paper's settings (Sohn et al. 2020, Sec. 5 and its released `run.sh`):

- CIFAR-10: master momentum on the majority signs with weight decay,
  ``v = m*v + (s + wd*p); p -= lr*v`` with lr 1e-4, m 0.9, wd 1e-4, lr x0.1 at epochs 40, 80
  (n in {5, 9}) or 20, 40, 80 (otherwise).
- Amazon Employee Access: per-partition worker momentum before the sign,
  ``v_i = m*v_i + (1-m)*g_i; vote on sign(v_i); p -= lr*majority`` with m 0.9, lr 1e-3 in the
  first epoch then 1e-4, 15 samples per partition, 8 epochs.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from election.errors import ConfigError
from election.presets import PRESETS, PROTOCOL_PRESETS, cifar_milestones

if TYPE_CHECKING:
    from election.training.schemes import Scheme

DECODERS = ("auto", "plain", "quorum")  # election/votes/decoders.py
# auto = quorum for the codes with a proven tolerance guarantee, plain otherwise (the uncoded
# SignSGD-MV baseline, Bernoulli codes, the paper's own matrix, matrices from files):
# docs/codes.md "Which decoder"
QUORUM_BY_DEFAULT = ("deterministic", "ternary")
# plus file:PATH; "paper-r3.8" is main.py's n = 5 matrix (docs/paper.md)
CODES = ("uncoded", "bernoulli", "deterministic", "ternary", "paper-r3.8")
OPTIMIZERS = ("master-momentum", "partition-momentum")
TRANSPORTS = ("inprocess", "grpc", "mpi")
PROTOCOLS = ("project", "seed")  # seed: the official Amazon code's data order (docs/paper.md)
# accusation at the master (docs/accusation.md): auto = on where a proof is sound (a scheme whose
# honest votes are sign(G u), no per-worker noise), on = required, off = never
ACCUSATION_MODES = ("auto", "on", "off")
QUARANTINE_MODES = ("off", "proven")  # proven: a proven worker's later votes count as abstentions


@dataclass(frozen=True)
class TrainConfig:
    """One training run. Validated on construction; every field is JSON-serialisable."""

    # --- the system (docs/design.md Sec. 2) ---
    dataset: str = "digits"  # embedded default: scikit-learn's bundled digits, no download
    model: str = ""  # "" = the dataset's default model
    n: int = 5  # workers = partitions per step (paper Fig. 4: n = 5)
    b: int = 1  # Byzantine workers (paper Fig. 4: b = 1)
    code: str = "deterministic"  # uncoded | bernoulli | deterministic | ternary | file:PATH
    r: float = 2.0  # expected redundancy of Bernoulli codes (p = r / n)
    redraw: bool = True  # Bernoulli: redraw G until no row is empty (False: one draw, as Amazon)
    attack: str = "reverse"  # core attack registry name; "none" disables Byzantine workers
    byzantine_select: str = "random"  # random (seeded) | heaviest | mobile | explicit ids "0,3"
    scheme: str = "majority"  # majority | signed-sum | sign-of-sum | median | sgd
    noise_variance: float = (
        0.0  # N(0, variance) added to each partition gradient, one draw shared by its holders
    )
    worker_noise_std: float = 0.0  # std * N(0, 1) per (honest worker, partition): --variance
    recompute: bool = False  # recompute every assigned partition per worker, as the paper's main.py
    augment: bool = False  # CIFAR-10: random crop (pad 4) + flip per training sample (main.py)
    # master's decoder (majority scheme): plain = the paper's sign(sum_j E_j); quorum = output
    # s = sign(sum_j E_j) only if at least q votes equal s, else 0 (docs/codes.md "Zero signs");
    # auto = quorum for deterministic and ternary codes, plain otherwise
    decoder: str = "auto"
    quorum: int = 0  # q of the quorum decoder; 0 = b + 1 (dead coordinates can never move)
    audit: bool = False  # in-process: count coordinates where the update differs from mu
    accusation: str = "auto"  # proofs, scores, telemetry per round at the master (ACCUSATION_MODES)
    quarantine: str = "off"  # off | proven: a proven worker's later votes count as abstentions
    # --- optimisation ---
    optimizer: str = "master-momentum"  # master-momentum (CIFAR) | partition-momentum (Amazon)
    lr: float = 1e-3  # digits: signSGD step size (with momentum 0.9 the effective step is 1e-2)
    momentum: float = 0.9  # paper: 0.9 for both optimizer placements
    weight_decay: float = 1e-4  # paper, CIFAR: 1e-4
    lr_milestones: tuple[int, ...] = (3, 5)  # epochs at which lr is multiplied by lr_gamma
    lr_gamma: float = 0.1  # paper: step decay x0.1
    batch_size: int = (
        0  # global batch per step, split into n equal partitions; 0 = n * partition_size
    )
    partition_size: int = 1  # samples per partition when batch_size is 0 (digits: one sample)
    epochs: int = 6  # passes over the training set (bounded by `steps` if set)
    steps: int = 0  # 0 = epochs * steps_per_epoch; otherwise stop after this many steps
    eval_every: int = 50  # evaluate every K steps (and at the end)
    protocol: str = "project"  # project: shuffled batches | seed: fixed contiguous shards
    # --- run ---
    seed: int = 0  # seeds data order, model init, Bernoulli codes, Byzantine choice, attacks
    device: str = "auto"  # auto | cpu | cuda | cuda:K
    transport: str = "inprocess"  # inprocess | grpc | mpi
    data_root: str = ""  # "" = the dataset's default search path
    num_train: int = 0  # 0 = all training samples; else truncate (quick experiments)
    runs_dir: str = "runs"  # run folders are created under this directory
    run_name: str = ""  # "" = derived from the scheme and a timestamp
    threads: int = 1  # torch intra-op threads (0 = torch default); small models run fastest on 1

    def __post_init__(self) -> None:
        _require(self.n >= 1, "n", self.n, "must be at least 1")
        _require(self.partition_size >= 1, "partition_size", self.partition_size, "must be >= 1")
        if self.batch_size == 0:  # frozen: resolve the derived default once, here
            object.__setattr__(self, "batch_size", self.n * self.partition_size)
        _check_sizes_and_optimisation(self)
        _check_choices(self)

    @property
    def quorum_q(self) -> int | None:
        """The q the master's majority uses: None for the plain rule, else quorum or b + 1."""
        if self.effective_decoder == "plain":
            return None
        return self.quorum if self.quorum else self.b + 1

    @property
    def effective_decoder(self) -> str:
        """plain or quorum: ``decoder`` with auto resolved (quorum for QUORUM_BY_DEFAULT codes)."""
        if self.decoder != "auto":
            return self.decoder
        quorum_scheme = "quorum" in _scheme_class(self.scheme).decoders
        coded = quorum_scheme and self.code in QUORUM_BY_DEFAULT
        return "quorum" if coded else "plain"

    @property
    def accusation_active(self) -> bool:
        """The master runs the Accuser: mode on, or auto where the proofs are sound."""
        return self.accusation != "off" and _accusation_sound(self)

    def to_json_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["lr_milestones"] = list(self.lr_milestones)
        return out

    def replace(self, **changes: Any) -> TrainConfig:
        return build_config(self.to_json_dict() | changes)


def _check_sizes_and_optimisation(cfg: TrainConfig) -> None:
    """Sizes, optimiser, schedule and noise: one ConfigError naming the field otherwise."""
    _require(0 <= cfg.b < cfg.n, "b", cfg.b, f"must satisfy 0 <= b < n = {cfg.n}")
    _require(cfg.r > 0, "r", cfg.r, "must be positive")
    _require(
        cfg.optimizer in OPTIMIZERS,
        "optimizer",
        cfg.optimizer,
        f"must be one of {OPTIMIZERS}",
    )
    _require(cfg.protocol in PROTOCOLS, "protocol", cfg.protocol, f"must be one of {PROTOCOLS}")
    _require(
        cfg.transport in TRANSPORTS,
        "transport",
        cfg.transport,
        f"must be one of {TRANSPORTS}",
    )
    _require(cfg.lr > 0, "lr", cfg.lr, "must be positive")
    _require(0 <= cfg.momentum < 1, "momentum", cfg.momentum, "must be in [0, 1)")
    _require(cfg.weight_decay >= 0, "weight_decay", cfg.weight_decay, "must be >= 0")
    _require(
        cfg.batch_size >= cfg.n,
        "batch_size",
        cfg.batch_size,
        f"must be at least n = {cfg.n} (one sample per partition)",
    )
    _require(
        cfg.batch_size % cfg.n == 0,
        "batch_size",
        cfg.batch_size,
        f"must be divisible by n = {cfg.n} (equal partitions)",
    )
    _require(cfg.epochs >= 1, "epochs", cfg.epochs, "must be at least 1")
    _require(cfg.steps >= 0, "steps", cfg.steps, "must be >= 0")
    _require(cfg.eval_every >= 1, "eval_every", cfg.eval_every, "must be at least 1")
    _require(cfg.noise_variance >= 0, "noise_variance", cfg.noise_variance, "must be >= 0")
    _check_worker_noise(cfg)


def _check_choices(cfg: TrainConfig) -> None:
    """Scheme, decoder, audit, accusation and code choices that must fit together."""
    scheme = _scheme_class(cfg.scheme)
    _require(
        not cfg.augment or cfg.dataset == "cifar10",
        "augment",
        cfg.augment,
        "is the official CIFAR-10 augmentation; it needs dataset=cifar10",
    )
    _require(cfg.threads >= 0, "threads", cfg.threads, "must be >= 0")
    _require(cfg.decoder in DECODERS, "decoder", cfg.decoder, f"must be one of {DECODERS}")
    _require(0 <= cfg.quorum <= cfg.n, "quorum", cfg.quorum, f"must be in [0, n = {cfg.n}]")
    _require(
        cfg.decoder == "auto" or cfg.decoder in scheme.decoders,
        "decoder",
        cfg.decoder,
        f"applies to scheme {_schemes_with_decoder(cfg.decoder)} only "
        f"(scheme is {cfg.scheme!r}); use decoder plain",
    )
    _require(
        not cfg.audit or (cfg.transport == "inprocess" and scheme.uses_partition_signs),
        "audit",
        cfg.audit,
        f"needs transport inprocess and a partition-sign scheme ({_audited_schemes()})",
    )
    _check_accusation(cfg)
    _require(
        cfg.byzantine_select != "mobile" or cfg.optimizer != "partition-momentum",
        "byzantine_select",
        cfg.byzantine_select,
        "needs optimizer=master-momentum (a partition's momentum would depend on the rounds in "
        "which each node computed it)",
    )
    _require(
        cfg.code in CODES or cfg.code.startswith("file:"),
        "code",
        cfg.code,
        f"must be one of {', '.join(CODES)} or file:PATH",
    )


def _scheme_class(name: str) -> type[Scheme]:
    """The scheme registry's entry (imported here: the registry imports torch and the votes)."""
    from election.training.schemes import scheme_class

    return scheme_class(name)


def _schemes_with_decoder(decoder: str) -> str:
    from election.training.schemes import SCHEMES

    return " or ".join(name for name, kind in SCHEMES.items() if decoder in kind.decoders)


def _audited_schemes() -> str:
    from election.training.schemes import SCHEMES

    return " or ".join(name for name, kind in SCHEMES.items() if kind.uses_partition_signs)


def __getattr__(name: str) -> Any:
    """``SCHEMES``: the registered scheme names, from the registry (for flags' choices)."""
    if name == "SCHEMES":
        from election.training.schemes import SCHEMES

        return tuple(SCHEMES)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _check_worker_noise(cfg: TrainConfig) -> None:
    """Per-worker noise (the paper's --noisy_gradient) excludes the other noise and momentum."""
    std = cfg.worker_noise_std
    _require(std >= 0, "worker_noise_std", std, "must be >= 0")
    _require(
        std == 0 or cfg.noise_variance == 0,
        "worker_noise_std",
        std,
        "and noise_variance are two noise models; set only one",
    )
    _require(
        std == 0 or cfg.optimizer != "partition-momentum",
        "worker_noise_std",
        std,
        "needs optimizer=master-momentum (partition momentum is shared by a partition's holders)",
    )


def _accusation_sound(cfg: TrainConfig) -> bool:
    """Proofs assume every honest vote is sign(G u) with the same u (docs/accusation.md)."""
    return _scheme_class(cfg.scheme).accusable and cfg.worker_noise_std == 0


def _check_accusation(cfg: TrainConfig) -> None:
    """The accusation and quarantine modes, and where they may be asked for."""
    modes, quarantine = ACCUSATION_MODES, QUARANTINE_MODES
    _require(cfg.accusation in modes, "accusation", cfg.accusation, f"must be one of {modes}")
    _require(cfg.quarantine in quarantine, "quarantine", cfg.quarantine, f"must be in {quarantine}")
    sound = _accusation_sound(cfg)
    _require(
        cfg.accusation != "on" or sound,
        "accusation",
        cfg.accusation,
        "needs a scheme whose honest votes are sign(G u) (majority) and worker_noise_std=0",
    )
    _require(
        cfg.quarantine == "off" or (cfg.accusation != "off" and sound),
        "quarantine",
        cfg.quarantine,
        "needs accusation (auto or on) with scheme majority and worker_noise_std=0",
    )


def _require(ok: bool, name: str, value: object, rule: str) -> None:
    if not ok:
        raise ConfigError(f"{name}={value!r} {rule}")


FIELD_TYPES = {f.name: f.type for f in dataclasses.fields(TrainConfig)}


def _coerce(name: str, value: Any) -> Any:
    """Convert a value from a file, an env var or a flag to the field's type."""
    default = getattr(TrainConfig, name, None)
    kind = type(default) if default is not None else str
    if name == "lr_milestones":
        if isinstance(value, str):
            parts = [p for p in value.replace(" ", "").split(",") if p]
            try:
                return tuple(int(p) for p in parts)
            except ValueError as exc:
                raise ConfigError(f"lr_milestones={value!r} must be comma-separated ints") from exc
        return tuple(int(v) for v in value)
    try:
        if kind is bool:
            if isinstance(value, str):
                return parse_bool(value, name)
            return bool(value)
        if kind is int and isinstance(value, float) and not value.is_integer():
            raise ValueError
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name}={value!r} is not a valid {kind.__name__}") from exc


def parse_bool(text: str, name: str = "value") -> bool:
    """Parse true/false words (the paper's `type=bool` flags turned "False" into True)."""
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on", "y", "t"):
        return True
    if lowered in ("0", "false", "no", "off", "n", "f", ""):
        return False
    raise ConfigError(f"{name}={text!r} is not a boolean (use true/false)")


def build_config(
    overrides: Mapping[str, Any] | None = None,
    *,
    config_file: str | None = None,
    env: Mapping[str, str] | None = None,
) -> TrainConfig:
    """Defaults -> dataset preset -> JSON file -> ``ELECTION_<FIELD>`` env vars -> overrides.

    ``overrides`` are the CLI's explicit values (None entries are ignored). Unknown keys raise
    ConfigError naming the known ones.
    """
    layers: list[dict[str, Any]] = []
    if config_file:
        try:
            layers.append(dict(json.loads(Path(config_file).read_text())))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read config file {config_file!r}: {exc}") from exc
    if env:
        layers.append(
            {
                key[len("ELECTION_") :].lower(): value
                for key, value in env.items()
                if key.startswith("ELECTION_") and key[len("ELECTION_") :].lower() in FIELD_TYPES
            }
        )
    layers.append({k: v for k, v in (overrides or {}).items() if v is not None})
    merged: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if key not in FIELD_TYPES:
                known = ", ".join(sorted(FIELD_TYPES))
                raise ConfigError(f"unknown config key {key!r}; known keys: {known}")
            merged[key] = _coerce(key, value)
    dataset = merged.get("dataset", TrainConfig.dataset)
    preset = dict(PRESETS.get(dataset, {}))
    if dataset == "cifar10":
        preset["lr_milestones"] = cifar_milestones(int(merged.get("n", TrainConfig.n)))
    preset |= PROTOCOL_PRESETS.get((dataset, merged.get("protocol", TrainConfig.protocol)), {})
    return TrainConfig(**(preset | merged))
