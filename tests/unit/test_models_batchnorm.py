"""recalibrate_batchnorm against the exact average of per-batch statistics."""

import pytest
import torch
from torch import nn

from election.errors import ConfigError
from election.models import build_model, has_batchnorm, recalibrate_batchnorm


def test_has_batchnorm_is_true_for_resnets_and_false_for_the_small_models() -> None:
    assert has_batchnorm(build_model("resnet18"))
    assert not has_batchnorm(build_model("mlp"))
    assert not has_batchnorm(build_model("logreg", num_classes=2, num_features=4))


def test_running_stats_become_the_mean_of_the_batch_statistics() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.BatchNorm1d(4)).eval()
    batches = [torch.randn(8, 4) * 3 + 5, torch.randn(8, 4) - 2, torch.randn(8, 4)]
    recalibrate_batchnorm(model, batches)
    bn = model[0]
    mean = torch.stack([b.mean(0) for b in batches]).mean(0)
    var = torch.stack([b.var(0, unbiased=True) for b in batches]).mean(0)
    torch.testing.assert_close(bn.running_mean, mean)
    torch.testing.assert_close(bn.running_var, var)


def test_momentum_and_eval_mode_are_restored() -> None:
    model = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3, momentum=0.25)).eval()
    recalibrate_batchnorm(model, [torch.randn(4, 3)])
    assert model[1].momentum == 0.25 and not model.training and not model[1].training


def test_recalibration_changes_resnet18_running_stats() -> None:
    torch.manual_seed(0)
    model = build_model("resnet18").eval()
    before = model.state_dict()["stem.1.running_mean"].clone()
    recalibrate_batchnorm(model, (torch.randn(2, 3, 32, 32) + 1 for _ in range(2)))
    after = model.state_dict()["stem.1.running_mean"]
    assert not torch.equal(before, after) and bool(torch.isfinite(after).all())


def test_an_empty_batch_list_is_a_config_error_for_models_with_batchnorm() -> None:
    with pytest.raises(ConfigError, match="at least one batch"):
        recalibrate_batchnorm(nn.BatchNorm1d(2), [])


def test_a_model_without_batchnorm_is_left_untouched() -> None:
    model = build_model("mlp")
    state = {k: v.clone() for k, v in model.state_dict().items()}
    recalibrate_batchnorm(model, [])
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
