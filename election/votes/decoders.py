"""The master's decoders: how the workers' ternary votes E_j become the update (registry).

- ``plain`` (the paper's rule, Sohn et al. 2020, section 2): out = sign(sum_j E_j).
- ``quorum`` (docs/codes.md, "Zero signs"): s = sign(sum_j E_j) is output only when at least q
  votes equal s, else 0; q defaults to b + 1.
- ``auto`` (the default of TrainConfig): quorum for the deterministic and ternary codes, plain
  for the rest (TrainConfig.effective_decoder).

Why the quorum. Partition signs of real gradients have exact zeros (dead ReLU or saturated
units, sparse one-hot features). Where every partition sign is 0 every honest vote is 0, so
under the plain rule the b Byzantine votes alone decide the output; with q = b + 1 they can
never reach the quorum there. And the quorum keeps the guarantee of a perfect code: if
A(u) = sum_j mu E_j >= 2b + 1 (mu = sign(sum_i u_i) != 0), then at least 2b + 1 workers vote
mu, and b attackers leave P' >= b + 1 votes for mu against at most N + b, with P' - N' >= 1
(proof and worst case in :mod:`election.codes.ternary`).
q = 1 is exactly the plain rule. The packed implementation is :func:`election.votes.majority`
with ``quorum=q``.
"""

from __future__ import annotations

from election.config import DECODERS
from election.errors import ConfigError

__all__ = ["DECODERS", "RULES", "resolve_quorum"]

RULES = tuple(d for d in DECODERS if d != "auto")  # the two rules themselves


def resolve_quorum(decoder: str, quorum: int, b: int) -> int | None:
    """The q to pass to ``majority``: None for plain; ``quorum`` or, when it is 0, b + 1."""
    if decoder not in RULES:
        raise ConfigError(f"decoder={decoder!r} must be one of {', '.join(RULES)}")
    if quorum < 0:
        raise ConfigError(f"quorum={quorum!r} must be >= 0 (0 = b + 1)")
    if decoder == "plain":
        return None
    return quorum if quorum else b + 1
