import numpy as np
import pytest
import torch

from election.attacks import AttackContext, apply_attack, make_attack, select_byzantine
from election.errors import ConfigError


def ctx(honest, target=None, seed=0):
    t = target if target is not None else honest
    return AttackContext(
        honest=honest, target=lambda: t, generator=torch.Generator().manual_seed(seed)
    )


VOTE = torch.tensor([1, -1, 0, 1, -1], dtype=torch.int8)
MU = torch.tensor([1, 1, -1, 0, -1], dtype=torch.int8)


def test_reverse_negates_the_honest_vote():
    assert torch.equal(apply_attack(make_attack("reverse"), ctx(VOTE)), -VOTE)


def test_directional_sends_all_ones_of_the_configured_sign():
    assert torch.equal(
        apply_attack(make_attack("directional"), ctx(VOTE)), torch.ones(5, dtype=torch.int8)
    )
    assert torch.equal(
        apply_attack(make_attack("directional-neg"), ctx(VOTE)), -torch.ones(5, dtype=torch.int8)
    )


def test_random_sends_seeded_uniform_plus_minus_one():
    a = apply_attack(make_attack("random"), ctx(torch.zeros(4000, dtype=torch.int8), seed=3))
    b = apply_attack(make_attack("random"), ctx(torch.zeros(4000, dtype=torch.int8), seed=3))
    assert torch.equal(a, b)
    assert set(a.tolist()) == {-1, 1}
    assert abs(float(a.float().mean())) < 0.06


def test_omniscient_opposes_the_all_partition_majority():
    assert torch.equal(apply_attack(make_attack("omniscient"), ctx(VOTE, MU)), -MU)


def test_abstain_sends_zeros_and_crash_sends_nothing():
    assert torch.equal(
        apply_attack(make_attack("abstain"), ctx(VOTE)), torch.zeros(5, dtype=torch.int8)
    )
    assert apply_attack(make_attack("crash"), ctx(VOTE)) is None
    assert make_attack("garbage").wire_fault == "garbage"


def test_attacks_on_float_gradients_keep_them_float():
    g = torch.tensor([0.5, -2.0, 1.0])
    assert torch.equal(apply_attack(make_attack("reverse"), ctx(g)), -g)
    assert torch.equal(apply_attack(make_attack("directional"), ctx(g)), torch.full((3,), 2.0))


def test_unknown_attack_lists_the_known_ones():
    with pytest.raises(ConfigError, match="reverse"):
        make_attack("flip")
    assert make_attack("omniscient").name == "omniscient"


G = np.array(
    [[1, 0, 0, 0, 0], [0, 1, 1, 1, 0], [1, 1, 1, 1, 1], [1, 1, 1, 1, 1], [1, 1, 1, 1, 1]],
    dtype=np.uint8,
)


def test_heaviest_selection_takes_the_rows_with_most_ones():
    assert select_byzantine("heaviest", matrix=G, b=2, seed=0) == (2, 3)


def test_random_selection_is_seeded_and_distinct():
    a = select_byzantine("random", matrix=G, b=3, seed=11)
    assert a == select_byzantine("random", matrix=G, b=3, seed=11)
    assert len(set(a)) == 3 and all(0 <= i < 5 for i in a)


def test_explicit_selection_validates_count_and_range():
    assert select_byzantine("4,0", matrix=G, b=2, seed=0) == (0, 4)
    with pytest.raises(ConfigError):
        select_byzantine("0,9", matrix=G, b=2, seed=0)
    with pytest.raises(ConfigError):
        select_byzantine("0", matrix=G, b=2, seed=0)
    with pytest.raises(ConfigError):
        select_byzantine("x,y", matrix=G, b=2, seed=0)


def test_every_registered_attack_class_states_its_formula_in_its_own_docstring() -> None:
    from election.attacks import ATTACKS

    for name, factory in ATTACKS.items():
        cls = type(factory())
        doc = cls.__dict__.get("__doc__") or ""
        assert "E'_j" in doc, f"{name}: {cls.__name__} has no formula docstring"
