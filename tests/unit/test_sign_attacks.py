"""Sign-native attacks do what their docstrings say; the mobile set is a pure function."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
import torch

from election.attacks import (
    ATTACKS,
    BYZFL_ATTACKS,
    SIGN_NATIVE,
    AttackContext,
    apply_attack,
    byzantine_set,
    make_attack,
    select_byzantine,
)
from election.codes.registry import make_code
from election.data import load_dataset
from election.errors import ConfigError
from election.sign_attacks import RoundView, flip_labels, optimal_messages, poisoned_dataset
from election.votes import majority_ternary, quorum_ternary


def honest_round(n: int, d: int, seed: int, g: np.ndarray | None = None) -> np.ndarray:
    """(n, d) int8 honest votes from correlated partition signs with zeros."""
    rng = np.random.default_rng(seed)
    g = np.eye(n, dtype=np.uint8) if g is None else g
    common = rng.choice([-1, 1], size=d)
    u = np.where(rng.random((g.shape[1], d)) < 0.3, -common, common)
    u[:, rng.random(d) < 0.05] = 0  # dead coordinates
    return np.sign(g.astype(int) @ u).astype(np.int8)


def context(votes: np.ndarray, byz: tuple[int, ...], worker: int, g=None, **kw) -> AttackContext:
    n = votes.shape[0]
    view = RoundView(
        step=0,
        byzantine=byz,
        honest=torch.from_numpy(votes),
        matrix=np.eye(n, dtype=np.uint8) if g is None else g,
        b=len(byz),
        **kw,
    ).for_worker(worker)
    return AttackContext(
        honest=torch.from_numpy(votes[worker].copy()),
        target=lambda: torch.zeros(votes.shape[1], dtype=torch.int8),
        generator=torch.Generator().manual_seed(5),
        round=view,
    )


@pytest.mark.parametrize("threshold", [None, 0, 1, 3])
def test_margin_targeted_flips_exactly_the_weak_coordinates(threshold: int | None) -> None:
    votes = honest_round(7, 5_000, seed=1)
    byz = (2, 5)
    ctx = context(votes, byz, worker=5)
    attack = (
        make_attack("margin")
        if threshold is None
        else type(make_attack("margin"))(threshold=threshold)
    )
    out = apply_attack(attack, ctx).numpy()
    total = votes.astype(int).sum(axis=0)
    t = 4 if threshold is None else threshold  # default 2 |B|
    weak = (total != 0) & (np.abs(total) <= t)
    assert np.array_equal(out[weak], -np.sign(total[weak]))
    assert np.array_equal(out[~weak], votes[5][~weak])
    changed = out != votes[5]
    assert changed.any() == (t > 0) and not (changed & ~weak).any()


def test_stochastic_flip_negates_a_seeded_rho_fraction() -> None:
    votes = honest_round(5, 40_000, seed=2)
    ctx = context(votes, (0,), worker=0)
    out = apply_attack(make_attack("stochastic"), ctx).numpy()
    again = apply_attack(make_attack("stochastic"), context(votes, (0,), worker=0)).numpy()
    assert np.array_equal(out, again)  # seeded from the attack generator
    nonzero = votes[0] != 0
    assert np.all((out == votes[0]) | (out == -votes[0]))
    flipped = (out != votes[0])[nonzero].mean()
    sigma = (0.75 * 0.25 / nonzero.sum()) ** 0.5
    assert abs(flipped - 0.75) < 5 * sigma
    cls = type(make_attack("stochastic"))
    assert np.array_equal(apply_attack(cls(rho=1.0), ctx).numpy(), -votes[0])
    assert np.array_equal(apply_attack(cls(rho=0.0), ctx).numpy(), votes[0])
    g = torch.tensor([0.5, -2.0, 1.0])
    float_ctx = AttackContext(honest=g, target=lambda: g, generator=torch.Generator())
    assert torch.equal(cls(rho=1.0)(float_ctx), -g)
    with pytest.raises(ConfigError):
        cls(rho=1.5)


def test_mimic_sends_an_honest_worker_with_a_different_row() -> None:
    g = np.asarray(make_code("deterministic", n=5, b=1).matrix)
    votes = honest_round(5, 1_000, seed=3, g=g)
    byz = (4,)
    out = apply_attack(make_attack("mimic"), context(votes, byz, worker=4, g=g)).numpy()
    target = next(j for j in range(5) if j not in byz and (g[j] != g[4]).any())
    assert np.array_equal(out, votes[target])
    explicit = type(make_attack("mimic"))(target=1)
    assert np.array_equal(apply_attack(explicit, context(votes, byz, 4, g=g)).numpy(), votes[1])
    with pytest.raises(ConfigError, match="not an honest"):
        type(make_attack("mimic"))(target=4)(context(votes, byz, 4, g=g))


def test_label_flip_maps_labels_and_insists_on_poisoned_partitions() -> None:
    y = torch.tensor([0, 1, 9, 4])
    assert flip_labels(y, 10).tolist() == [9, 8, 0, 5]
    assert torch.equal(flip_labels(flip_labels(y, 10), 10), y)
    data = load_dataset("digits", num_train=200)
    bad = poisoned_dataset(data)
    assert torch.equal(bad.train_y, 9 - data.train_y) and bad.test_y is data.test_y
    assert torch.equal(bad.train_x, data.train_x)
    votes = honest_round(3, 100, seed=4)
    attack = make_attack("label-flip")
    assert attack.poisons_labels and not attack.needs_round
    with pytest.raises(ConfigError, match="poisoned_dataset"):
        attack(context(votes, (1,), worker=1))
    flipped = dataclasses.replace(context(votes, (1,), worker=1), labels_flipped=True)
    assert torch.equal(attack(flipped), flipped.honest)


def test_mobile_set_is_a_pure_function_redrawn_every_round() -> None:
    g = np.asarray(make_code("deterministic", n=9, b=2).matrix)
    sets = [byzantine_set(t, "mobile", matrix=g, b=2, seed=7) for t in range(300)]
    assert sets == [byzantine_set(t, "mobile", matrix=g, b=2, seed=7) for t in range(300)]
    assert all(len(s) == 2 and len(set(s)) == 2 and all(0 <= j < 9 for j in s) for s in sets)
    assert len(set(sets)) > 20  # 36 possible pairs; redrawn, not fixed
    counts = np.bincount(np.array(sets).ravel(), minlength=9)
    assert counts.min() > 300 * 2 / 9 * 0.5  # every worker is corrupted some rounds
    for policy in ("random", "heaviest", "0,3"):
        static = select_byzantine(policy, matrix=g, b=2, seed=7)
        assert all(byzantine_set(t, policy, matrix=g, b=2, seed=7) == static for t in range(5))
    assert byzantine_set(3, "mobile", matrix=g, b=0, seed=7) == ()


def decode(votes: np.ndarray, decoder: str, q: int) -> np.ndarray:
    return majority_ternary(votes) if decoder == "plain" else quorum_ternary(votes, q)


@pytest.mark.parametrize("decoder", ["plain", "quorum"])
def test_optimal_colluding_is_optimal_against_enumeration(decoder: str) -> None:
    n, b, d = 6, 2, 300
    votes = honest_round(n, d, seed=5)
    byz = (1, 4)
    q = b + 1
    msgs = optimal_messages(votes, byz, decoder=decoder, q=q)
    reference = decode(votes, decoder, q)

    def value(out: np.ndarray) -> np.ndarray:
        return 2 * (out != reference) + ((reference != 0) & (out == -reference))

    attacked = votes.copy()
    attacked[list(byz)] = msgs
    got = value(decode(attacked, decoder, q))
    best = np.zeros(d, dtype=int)
    for lie in itertools.product((-1, 0, 1), repeat=b):
        trial = votes.copy()
        trial[list(byz)] = np.array(lie, dtype=np.int8)[:, None]
        best = np.maximum(best, value(decode(trial, decoder, q)))
    assert np.array_equal(got, best)


@pytest.mark.parametrize("decoder", ["plain", "quorum"])
def test_optimal_colluding_changes_at_least_as_much_as_omniscient(decoder: str) -> None:
    g = np.asarray(make_code("deterministic", n=9, b=2).matrix).astype(int)
    byz, q = (0, 5), 3
    strictly_more = 0
    for seed in range(10):
        rng = np.random.default_rng(seed)
        common = rng.choice([-1, 1], size=2_000)
        u = np.where(rng.random((9, 2_000)) < 0.35, -common, common)
        u[:, rng.random(2_000) < 0.05] = 0
        votes = np.sign(g @ u).astype(np.int8)
        mu = np.sign(u.sum(axis=0)).astype(np.int8)
        reference = decode(votes, decoder, q)
        omni = votes.copy()
        omni[list(byz)] = -mu
        best = votes.copy()
        best[list(byz)] = optimal_messages(votes, byz, decoder=decoder, q=q)
        changed_omni = int((decode(omni, decoder, q) != reference).sum())
        changed_best = int((decode(best, decoder, q) != reference).sum())
        assert changed_best >= changed_omni
        strictly_more += changed_best > changed_omni
    if decoder == "plain":  # dead coordinates: omniscient sends 0 there, the optimum moves them
        assert strictly_more > 0  # they differ, so both stay in the registry


def test_colluding_attackers_share_one_joint_solution_per_round() -> None:
    votes = honest_round(7, 500, seed=6)
    byz = (1, 3, 6)
    view = RoundView(step=0, byzantine=byz, honest=torch.from_numpy(votes), matrix=np.eye(7), b=3)
    attack = make_attack("collude-quorum")
    rows = []
    for j in byz:
        ctx = AttackContext(
            honest=torch.from_numpy(votes[j].copy()),
            target=lambda: torch.zeros(500),
            generator=torch.Generator(),
            round=view.for_worker(j),
        )
        rows.append(apply_attack(attack, ctx).numpy())
    assert np.array_equal(np.stack(rows), optimal_messages(votes, byz, decoder="quorum", q=4))
    assert len(view.shared) == 1


def test_registry_lists_every_sign_native_attack_and_the_round_requirement() -> None:
    for name in SIGN_NATIVE:
        assert name in ATTACKS
        attack = make_attack(name)
        assert attack.name == name
        ctx = AttackContext(
            honest=torch.ones(4, dtype=torch.int8),
            target=lambda: torch.ones(4, dtype=torch.int8),
            generator=torch.Generator(),
        )
        if attack.needs_round:
            with pytest.raises(ConfigError, match="AttackContext.round"):
                attack(ctx)
        elif attack.poisons_labels:
            with pytest.raises(ConfigError, match="poisoned_dataset"):
                attack(ctx)
        else:
            assert attack(ctx) is not None
    round_attacks = (*SIGN_NATIVE, *BYZFL_ATTACKS)  # ByzFL's float attacks read the view too
    assert not any(ATTACKS[name]().needs_round for name in ATTACKS if name not in round_attacks)
    assert not any(ATTACKS[name]().poisons_labels for name in ATTACKS if name != "label-flip")
    votes = torch.ones((3, 4))
    view = RoundView(step=0, byzantine=(0,), honest=votes, matrix=np.eye(3), b=1).for_worker(0)
    float_ctx = AttackContext(
        honest=votes[0], target=lambda: votes[0], generator=torch.Generator(), round=view
    )
    with pytest.raises(ConfigError, match="sign votes"):
        make_attack("margin")(float_ctx)
