"""Sparse logistic regression against a dense one-hot oracle; zero gradient off the batch."""

import torch
import torch.nn.functional as F

from election.models import build_model
from election.models.logistic import SparseLogisticRegression


def test_logits_and_gradients_equal_dense_one_hot_logistic_regression() -> None:
    torch.manual_seed(0)
    num_features = 30
    model = build_model("logreg", num_classes=2, num_features=num_features)
    assert isinstance(model, SparseLogisticRegression)
    with torch.no_grad():
        model.weight.normal_()
        model.bias.fill_(0.3)
    idx = torch.tensor([[0, 7, 12], [3, 7, 29], [1, 8, 20]])  # (B=3, F=3) active indices
    y = torch.tensor([1.0, 0.0, 1.0])
    onehot = torch.zeros(3, num_features).scatter_(1, idx, 1.0)  # (3, 30) dense oracle input
    w = model.weight.detach().clone().requires_grad_(True)
    b = model.bias.detach().clone().requires_grad_(True)
    dense_logits = onehot @ w + b
    F.binary_cross_entropy_with_logits(dense_logits, y).backward()

    logits = model(idx)
    F.binary_cross_entropy_with_logits(logits, y).backward()
    torch.testing.assert_close(logits, dense_logits)
    torch.testing.assert_close(model.weight.grad, w.grad)
    torch.testing.assert_close(model.bias.grad, b.grad)


def test_gradient_is_exactly_zero_on_features_no_sample_activates() -> None:
    model = build_model("logreg", num_classes=2, num_features=100)
    assert isinstance(model, SparseLogisticRegression)
    idx = torch.tensor([[2, 40, 77], [5, 40, 90]])
    F.binary_cross_entropy_with_logits(model(idx), torch.tensor([1.0, 1.0])).backward()
    grad = model.weight.grad
    assert grad is not None and grad.shape == (100,)
    active = torch.zeros(100, dtype=torch.bool)
    active[idx.flatten()] = True
    assert bool((grad[~active] == 0).all())
    assert bool((grad[active] < 0).all())  # every active feature pushes the logit up
    assert torch.sign(grad).abs().sum() == 5  # sign(0) = 0 on the 95 inactive features


def test_logreg_starts_at_zero_so_every_probability_is_one_half() -> None:
    model = build_model("logreg", num_classes=2, num_features=10)
    assert torch.equal(model(torch.tensor([[1, 2], [3, 4]])), torch.zeros(2))
