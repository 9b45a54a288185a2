"""ByzFL's float attacks in the attack registry: ``--attack byzfl:NAME`` (optional extra).

Every Byzantine worker of a round sends the one vector ByzFL's attack computes from the round's
honest messages (the honest workers' float gradients, :class:`RoundView.honest` without the
Byzantine rows), as ByzFL's own benchmark does:

- ``byzfl:sign-flipping``: -mean(honest) (Allen-Zhu et al. 2020);
- ``byzfl:ipm``:           -tau * mean(honest), tau = 2 (Xie et al. 2020);
- ``byzfl:alie``:          mean(honest) + tau * std(honest), tau = 1.5 (Baruch et al. 2019).

They act on float schemes (``median``, ``sgd``, ``byzfl:NAME``); on sign votes they are a
one-line error (the sign-native ``margin`` attack is ALIE's counterpart for votes).
``byzfl`` is imported when the attack first runs.
"""

from __future__ import annotations

import torch

from election.attacks import Attack, AttackContext
from election.baselines.byzfl import ATTACKS, float_attack
from election.errors import ConfigError
from election.sign_attacks.context import require_view

PREFIX = "byzfl:"  # the attack names are PREFIX + a key of election.baselines.byzfl.ATTACKS
NAMES = tuple(f"{PREFIX}{name}" for name in ATTACKS)


class ByzflFloatAttack(Attack):
    """One of ByzFL's attacks on the round's honest float messages, computed by ByzFL:

    E'_j = A({E_i : i honest}) for every Byzantine j, with A = -mean (sign-flipping),
    -2 mean (ipm) or mean + 1.5 std (alie), coordinate-wise over the honest messages.
    """

    needs_round = True

    def __init__(self, byzfl_name: str) -> None:
        if byzfl_name not in ATTACKS:
            raise ConfigError(f"unknown ByzFL attack {byzfl_name!r}; known: {', '.join(NAMES)}")
        self.name = f"{PREFIX}{byzfl_name}"
        self.byzfl_name = byzfl_name

    def __call__(self, ctx: AttackContext) -> torch.Tensor | None:
        view = require_view(ctx.round, self.name)
        if not view.honest.is_floating_point():
            raise ConfigError(
                f"attack {self.name!r} acts on float gradients; use scheme median, sgd or "
                "byzfl:NAME (for sign votes, the margin attack is ALIE's counterpart)"
            )
        key = f"{self.name}/message"  # one computation per round, shared by the colluders
        if key not in view.shared:
            byzantine = set(view.byzantine)
            honest = [view.honest[i] for i in range(view.honest.shape[0]) if i not in byzantine]
            view.shared[key] = float_attack(self.byzfl_name)(honest)  # (d,) float32
        message: torch.Tensor = view.shared[key]
        return message.to(ctx.honest.dtype)
