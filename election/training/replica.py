"""A model replica: the parameters, the optimizer state and how an update is applied.

The master holds one replica; every worker holds one too. All start from the same seeded
initialisation and apply the same packed update with the same optimizer, so their parameters
stay bit-identical; ``digest()`` (SHA-256 of the parameters in a fixed order) checks it.

BatchNorm: per-partition forward passes use batch statistics without touching the running
statistics (BN momentum is set to 0), so replicas never diverge through buffers; before each
evaluation the running statistics are recalibrated on fixed training batches ("precise BN").
"""

from __future__ import annotations

import hashlib
import io
from typing import Any

import numpy as np
import torch
from torch import nn

from election.config import TrainConfig
from election.data import Dataset
from election.models import build_model, default_model_for, has_batchnorm, recalibrate_batchnorm
from election.seeds import MODEL_INIT_STREAM
from election.training.augment import train_inputs
from election.training.batches import batch_for
from election.training.optimizers import (
    MasterMomentum,
    MasterOptimizer,
    PlainSignStep,
    StepSchedule,
)

BN_RECALIBRATION_BATCHES = 8  # training batches used to recalibrate BN statistics before eval
EVAL_BATCH = 1000  # samples per forward pass during evaluation


def build_replica_model(cfg: TrainConfig, dataset: Dataset) -> nn.Module:
    """The seeded initial model: identical on every node for the same config."""
    torch.manual_seed(cfg.seed * 1_000_003 + MODEL_INIT_STREAM)
    model = build_model(cfg.model or default_model_for(cfg.dataset), dataset=dataset)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.momentum = 0.0  # partition passes must not update running statistics
    return model


def make_master_optimizer(cfg: TrainConfig) -> MasterOptimizer:
    """(a) master momentum + weight decay, or (b)'s plain step when momentum lives in workers."""
    schedule = StepSchedule(lr=cfg.lr, milestones=cfg.lr_milestones, gamma=cfg.lr_gamma)
    if cfg.optimizer == "partition-momentum":
        return PlainSignStep(schedule=schedule, momentum=0.0, weight_decay=0.0)
    return MasterMomentum(schedule=schedule, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


class Replica:
    """Parameters (as one flat float32 vector view) plus the master optimizer state."""

    def __init__(self, cfg: TrainConfig, dataset: Dataset, device: torch.device) -> None:
        self.cfg = cfg
        self.dataset = dataset
        self.device = device
        self.model = build_replica_model(cfg, dataset).to(device)
        self.optimizer = make_master_optimizer(cfg)
        self.params = list(self.model.parameters())
        self.dim = sum(p.numel() for p in self.params)

    def flat(self) -> torch.Tensor:
        """A copy of the parameters as one vector: (d,) float32."""
        return torch.nn.utils.parameters_to_vector(self.params).detach()

    def apply_update(self, update: torch.Tensor, *, epoch: int) -> None:
        """Apply the master's aggregate (d,) (ternary signs, or a float gradient for baselines)."""
        flat = self.flat()
        self.optimizer.step(flat, update.to(self.device), epoch=epoch)
        torch.nn.utils.vector_to_parameters(flat, self.params)

    def digest(self) -> str:
        """SHA-256 of the parameters in ``model.parameters()`` order, little-endian float32."""
        data = self.flat().cpu().numpy().astype("<f4", copy=False)
        return hashlib.sha256(np.ascontiguousarray(data).tobytes()).hexdigest()

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Test accuracy (or ROC AUC for binary datasets with metric 'auc') and test loss."""
        model, ds = self.model, self.dataset
        if has_batchnorm(model):
            recalibrate_batchnorm(model, self._calibration_batches())
        model.eval()
        outputs = []
        for start in range(0, ds.n_test, EVAL_BATCH):
            x = ds.test_x[start : start + EVAL_BATCH].to(self.device)
            outputs.append(model(x).float().cpu())
        model.train()
        logits = torch.cat(outputs)
        y = ds.test_y
        if getattr(model, "loss_kind", "ce") == "bce":
            loss = nn.functional.binary_cross_entropy_with_logits(logits, y.float()).item()
            from sklearn.metrics import roc_auc_score

            auc = float(roc_auc_score(y.numpy(), logits.numpy()))
            accuracy = float(((logits > 0).long() == y).float().mean())
            return {"auc": auc, "accuracy": accuracy, "test_loss": loss}
        loss = nn.functional.cross_entropy(logits, y).item()
        accuracy = float((logits.argmax(1) == y).float().mean())
        return {"accuracy": accuracy, "test_loss": loss}

    def _calibration_batches(self) -> list[torch.Tensor]:
        cfg, ds = self.cfg, self.dataset
        return [
            train_inputs(cfg, ds, i, batch_for(cfg, i, ds.n_train)).to(self.device)
            for i in range(BN_RECALIBRATION_BATCHES)
        ]

    # --- checkpoints and resync ---
    def state(self) -> dict[str, Any]:
        return {"flat": self.flat().cpu(), "optimizer": self.optimizer.state_dict()}

    def load_state(self, state: dict[str, Any]) -> None:
        torch.nn.utils.vector_to_parameters(state["flat"].to(self.device), self.params)
        self.optimizer.load_state_dict(state["optimizer"])

    def state_bytes(self) -> bytes:
        buffer = io.BytesIO()
        torch.save(self.state(), buffer)
        return buffer.getvalue()

    def load_state_bytes(self, data: bytes) -> None:
        self.load_state(torch.load(io.BytesIO(data), weights_only=True))
