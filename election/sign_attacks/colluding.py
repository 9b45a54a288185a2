"""Optimal colluding attack: the b messages that change the most output coordinates.

Given every honest vote of the round (n, d) and the Byzantine set B (|B| = b), per coordinate k
let P_k, N_k be the honest workers' (j not in B) counts of +1 and -1 and o_k the output the
decoder gives on the all-honest votes (B's honest votes included). If a of the attackers send
+1, c send -1 and the rest 0 (a + c <= b), the output is

    plain  (Sohn et al. 2020, Sec. 2):       sign(P + a - N - c)
    quorum (docs/codes.md, "Zero signs"):    s = sign(P + a - N - c) if #votes equal to s >= q,
                                              else 0   (q = b + 1 by default)

Only (a, c) matters (votes are anonymous to the decoder), and coordinates are independent, so
maximising the number of changed coordinates is a per-coordinate choice over the
(b + 1)(b + 2)/2 options: take the option with the largest value of
2 [out != o] + [o != 0 and out = -o] (change first, then prefer reversing to zeroing; ties to
the first option in the order a = 0..b, c = 0..b-a). The first a attackers (in sorted order)
send +1, the next c send -1, the others 0. This is optimal for the objective by construction
(tested against enumeration of all 3^b messages). It differs from ``omniscient`` (every
attacker sends -mu): e.g. at dead coordinates (mu = 0) omniscient sends 0 while this attacker
moves the output whenever the decoder lets it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from election.attacks import Attack, AttackContext
from election.errors import ConfigError
from election.sign_attacks.context import require_view

DECODERS = ("plain", "quorum")


def decode_counts(plus: np.ndarray, minus: np.ndarray, *, decoder: str, q: int) -> np.ndarray:
    """The decoder's output from per-coordinate counts of +1 and -1 votes: (d,) int8."""
    s = np.sign(plus.astype(np.int32) - minus).astype(np.int8)
    if decoder == "plain":
        return s
    if decoder == "quorum":
        agree = np.where(s > 0, plus, minus)
        return np.where((s != 0) & (agree >= q), s, 0).astype(np.int8)
    raise ConfigError(f"unknown decoder {decoder!r}; known: {', '.join(DECODERS)}")


def _options(b: int) -> list[tuple[int, int]]:
    return [(a, c) for a in range(b + 1) for c in range(b + 1 - a)]


def optimal_messages(
    honest: np.ndarray, byzantine: Sequence[int], *, decoder: str = "plain", q: int | None = None
) -> np.ndarray:
    """The b colluding messages of the module docstring: (b, d) int8, rows in sorted B order.

    ``honest`` is (n, d) int8 (every worker's honest vote); ``q`` defaults to b + 1.
    """
    byz = sorted(byzantine)
    b = len(byz)
    quorum = b + 1 if q is None else q
    others = np.ones(honest.shape[0], dtype=bool)
    others[byz] = False
    plus = (honest[others] > 0).sum(axis=0, dtype=np.int32)  # (d,) honest +1 votes
    minus = (honest[others] < 0).sum(axis=0, dtype=np.int32)
    reference = decode_counts(
        (honest > 0).sum(axis=0), (honest < 0).sum(axis=0), decoder=decoder, q=quorum
    )  # (d,) the all-honest output o
    best_value = np.full(honest.shape[1], -1, dtype=np.int8)
    best = np.zeros(honest.shape[1], dtype=np.int32)  # (d,) index of the chosen option
    options = _options(b)
    for i, (a, c) in enumerate(options):
        out = decode_counts(plus + a, minus + c, decoder=decoder, q=quorum)
        value = 2 * (out != reference) + ((reference != 0) & (out == -reference))
        better = value > best_value
        best_value = np.where(better, value, best_value).astype(np.int8)
        best[better] = i
    a_of = np.array([a for a, _ in options])[best]  # (d,) attackers sending +1
    c_of = np.array([c for _, c in options])[best]  # (d,) attackers sending -1
    rank = np.arange(b)[:, None]  # (b, 1) attacker's position in sorted B
    return np.where(rank < a_of, 1, np.where(rank < a_of + c_of, -1, 0)).astype(np.int8)


class OptimalColluding(Attack):
    """Optimal colluding against the ``decoder`` (plain or quorum; module docstring): per
    coordinate k, the (a_k, c_k) with a_k + c_k <= b that maximises

        2 [out_k != o_k] + [o_k != 0 and out_k = -o_k],   out_k = decode(P_k + a_k, N_k + c_k),

    then the first a_k attackers (sorted) send E'_jk = +1, the next c_k send -1, the rest 0.
    """

    needs_round = True

    def __init__(self, *, decoder: str = "plain", q: int | None = None) -> None:
        if decoder not in DECODERS:
            raise ConfigError(f"unknown decoder {decoder!r}; known: {', '.join(DECODERS)}")
        self.decoder = decoder
        self.q = q
        self.name = "collude" if decoder == "plain" else "collude-quorum"

    def __call__(self, ctx: AttackContext) -> torch.Tensor | None:
        view = require_view(ctx.round, self.name)
        key = f"{self.name}:{self.q}"
        if key not in view.shared:  # one joint solution per round, shared by the attackers
            votes = view.votes(self.name).cpu().numpy()  # (n, d) int8
            q = view.b + 1 if self.q is None else self.q
            view.shared[key] = optimal_messages(votes, view.byzantine, decoder=self.decoder, q=q)
        row = sorted(view.byzantine).index(view.worker)
        return torch.from_numpy(view.shared[key][row]).to(ctx.honest.device)
