import torch

from election.training.round import aggregate, honest_message, partition_signs, target_aggregate


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
    vote = honest_message("majority", (0, 1), s, partition_signs(s))
    assert vote.dtype == torch.int8 and vote.tolist() == [0, -1, 1, 1]


def test_signed_sum_sends_the_sum_of_partition_signs():
    s = signals()
    assert honest_message("signed-sum", (0, 1, 2), s, partition_signs(s)).tolist() == [1, -1, 0, 1]


def test_gradient_schemes_send_the_mean_partition_signal():
    s = signals()
    assert torch.allclose(honest_message("median", (0, 2), s), (s[0] + s[2]) / 2)


def test_target_is_the_all_partition_majority():
    s = signals()
    assert target_aggregate("majority", s, partition_signs(s)).tolist() == [1, -1, 0, 1]


def test_aggregate_skips_abstentions_and_takes_majority_or_median():
    votes = [torch.tensor([1, -1], dtype=torch.int8), None, torch.tensor([1, 1], dtype=torch.int8)]
    assert aggregate("majority", votes).tolist() == [1, 0]
    grads = [torch.tensor([1.0, 5.0]), torch.tensor([2.0, -1.0]), torch.tensor([9.0, 0.0])]
    assert aggregate("median", grads).tolist() == [2.0, 0.0]
    assert torch.allclose(aggregate("sgd", grads), torch.tensor([4.0, 4.0 / 3]))
