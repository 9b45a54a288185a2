"""Sparse logistic regression for one-hot data (the paper's Amazon model, Sec. 5).

A sample is its F active one-hot indices ``idx`` (int64, each < num_features); the logit is
``z = sum_f w[idx_f] + b`` = ``w . onehot(x) + b`` and the loss is binary cross-entropy with
logits on y in {0, 1}. The weights are one dense parameter vector indexed by ``idx``, so
autograd scatters the gradient into a dense tensor whose entry ``d loss / d w_k`` is exactly
0 for every feature k that no sample in the batch activates: its sign is 0, which the
ternary majority vote relies on (docs/design.md Sec. 2).
Parameters start at zero (the loss is convex, so no symmetry needs breaking). ``bias=False``
(model "logreg-nobias") is the official Amazon model, ``z = w . onehot(x)``
(amazon_employer/MPI_main.py:43-69, 332).
"""

from __future__ import annotations

import torch
from torch import nn

from election.errors import ConfigError


class SparseLogisticRegression(nn.Module):
    """Logistic regression over rows of active feature indices; returns logits (B,)."""

    loss_kind = "bce"  # one logit per sample (B,) -> BCE-with-logits against float labels

    def __init__(self, *, num_features: int, bias: bool = True) -> None:
        super().__init__()
        if num_features < 1:
            raise ConfigError(f"num_features={num_features} must be >= 1")
        self.num_features = num_features
        self.weight = nn.Parameter(torch.zeros(num_features))  # w: (num_features,) float32
        self.bias = nn.Parameter(torch.zeros(1)) if bias else None  # b: (1,) float32

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        # idx: (B, F) int64 active indices -> (B, F) weights -> (B,) logits
        logits = self.weight[idx].sum(dim=1)
        return logits if self.bias is None else logits + self.bias
