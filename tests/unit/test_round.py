"""Each scheme object's honest message, target and aggregate against hand-worked values."""

import pytest
import torch

from election.errors import ConfigError, VoteFormatError
from election.training.schemes import (
    SCHEMES,
    Majority,
    Median,
    Sgd,
    SignedSum,
    partition_signs,
    scheme_class,
)
from election.votes import PackedVote, pack_ternary, unpack_ternary


def signals():
    return {
        0: torch.tensor([0.3, -0.2, 0.0, 1.0]),
        1: torch.tensor([-0.1, -0.5, 0.2, 1.0]),
        2: torch.tensor([0.4, 0.1, -0.3, -2.0]),
    }


def test_partition_signs_are_ternary_with_sign_of_zero_zero():
    assert partition_signs(signals())[0].tolist() == [1, -1, 0, 1]


def test_local_majority_ties_give_zero():
    s = signals()
    vote = Majority().honest((0, 1), s, partition_signs(s))
    assert vote.dtype == torch.int8 and vote.tolist() == [0, -1, 1, 1]


def test_signed_sum_sends_the_sum_of_partition_signs():
    s = signals()
    vote = SignedSum().honest((0, 1, 2), s, partition_signs(s))
    assert vote.dtype == torch.int16 and vote.tolist() == [1, -1, 0, 1]


def test_gradient_schemes_send_the_mean_partition_signal():
    s = signals()
    assert torch.allclose(Median().honest((0, 2), s), (s[0] + s[2]) / 2)


def test_target_is_the_all_partition_majority():
    s = signals()
    assert Majority().target(s, partition_signs(s)).tolist() == [1, -1, 0, 1]


def test_aggregate_skips_abstentions_and_takes_majority_or_median():
    scheme = Majority()
    votes = [torch.tensor([1, -1], dtype=torch.int8), None, torch.tensor([1, 1], dtype=torch.int8)]
    packed = [None if v is None else scheme.as_vote(v) for v in votes]
    update = scheme.aggregate(packed, 2)
    assert scheme.update_tensor(update, torch.device("cpu")).tolist() == [1, 0]
    grads = [torch.tensor([1.0, 5.0]), torch.tensor([2.0, -1.0]), torch.tensor([9.0, 0.0])]
    assert Median().aggregate(grads, 2).tolist() == [2.0, 0.0]
    assert torch.allclose(Sgd().aggregate([*grads, None], 2), torch.tensor([4.0, 4.0 / 3]))


def test_quorum_decoder_zeroes_coordinates_without_q_agreeing_votes():
    votes = [pack_ternary(v) for v in ([1, 1, -1], [1, -1, -1], [1, 0, 1])]
    plain = Majority().aggregate(votes, 3)
    quorum = Majority(quorum=3).aggregate(votes, 3)
    assert isinstance(plain, PackedVote) and unpack_ternary(plain).tolist() == [1, 0, -1]
    assert isinstance(quorum, PackedVote) and unpack_ternary(quorum).tolist() == [1, 0, 0]


def test_every_scheme_aggregates_all_abstentions_to_the_zero_update():
    for kind in SCHEMES.values():
        scheme = kind()
        update = scheme.update_tensor(scheme.aggregate([None, None], 4), torch.device("cpu"))
        assert update.tolist() == [0, 0, 0, 0], kind.name


@pytest.mark.parametrize("name", list(SCHEMES))
def test_each_scheme_codec_round_trips_its_honest_vote_and_update(name):
    scheme = scheme_class(name)()
    s = signals()
    honest = scheme.honest((0, 2), s, scheme.signs(s))
    vote = scheme.as_vote(honest)
    back = scheme.decode_vote(scheme.encode_vote(vote), 4)
    again = scheme.aggregate([back], 4)
    direct = scheme.aggregate([vote], 4)
    cpu = torch.device("cpu")
    decoded = scheme.decode_update(scheme.encode_update(direct), 4)
    assert torch.equal(scheme.update_tensor(again, cpu), scheme.update_tensor(direct, cpu))
    assert torch.equal(scheme.update_tensor(decoded, cpu), scheme.update_tensor(direct, cpu))
    checked = scheme.check_vote(vote, 4)
    assert torch.equal(
        scheme.update_tensor(scheme.aggregate([checked], 4), cpu),
        scheme.update_tensor(direct, cpu),
    )
    with pytest.raises(VoteFormatError):
        scheme.decode_vote(scheme.encode_vote(vote), 5)


def test_a_worker_without_partitions_votes_zero_only_in_the_sign_schemes():
    assert SignedSum().honest((), {}, {}, dim=3).dtype == torch.int16
    assert Majority().honest((), {}, {}, dim=3).tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="no median message"):
        Median().honest((), {}, dim=3)


def test_an_unknown_scheme_name_is_one_config_error_naming_the_known_ones():
    with pytest.raises(ConfigError, match="must be one of .*'majority'.*'sgd'"):
        scheme_class("mean")
