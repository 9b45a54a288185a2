"""build_model: shapes, parameter counts, seeded determinism and helpful errors."""

import pytest
import torch
from torch import nn

from election.data import load_dataset
from election.errors import ConfigError
from election.models import MODELS, build_model, default_model_for


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    ("name", "expected"),
    [("resnet18", 11_173_962), ("resnet50", 23_520_842), ("cnn", 184_586), ("mlp", 4_810)],
)
def test_parameter_counts_match_the_documented_architectures(name: str, expected: int) -> None:
    shape = {"cnn": (1, 28, 28), "mlp": (64,)}.get(name, (3, 32, 32))
    assert n_params(build_model(name, num_classes=10, input_shape=shape)) == expected


@pytest.mark.parametrize(
    ("name", "shape"),
    [("resnet18", (3, 32, 32)), ("resnet50", (3, 32, 32)), ("cnn", (1, 28, 28)), ("mlp", (64,))],
)
def test_dense_models_map_a_batch_to_one_logit_per_class(name: str, shape: tuple) -> None:
    model = build_model(name, num_classes=7, input_shape=shape).eval()
    with torch.no_grad():
        out = model(torch.randn(2, *shape))
    assert out.shape == (2, 7) and model.loss_kind == "ce"


def test_resnet_accepts_other_channel_counts_and_image_sizes() -> None:
    model = build_model("resnet18", input_shape=(1, 28, 28)).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_logreg_maps_index_rows_to_one_logit_per_sample() -> None:
    model = build_model("logreg", num_classes=2, num_features=50)
    out = model(torch.tensor([[0, 10, 49], [1, 2, 3]]))
    assert out.shape == (2,) and model.loss_kind == "bce"
    assert n_params(model) == 51


@pytest.mark.parametrize("name", ["resnet18", "cnn", "mlp"])
def test_initialisation_is_identical_under_the_same_seed(name: str) -> None:
    torch.manual_seed(123)
    a = build_model(name, input_shape=(1, 28, 28) if name == "cnn" else None)
    torch.manual_seed(123)
    b = build_model(name, input_shape=(1, 28, 28) if name == "cnn" else None)
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)


def test_initialisation_differs_under_different_seeds() -> None:
    torch.manual_seed(1)
    a = build_model("mlp")
    torch.manual_seed(2)
    b = build_model("mlp")
    assert not torch.equal(a.state_dict()["net.1.weight"], b.state_dict()["net.1.weight"])


def test_a_dataset_supplies_classes_shape_and_features() -> None:
    digits = load_dataset("digits", num_train=8)
    model = build_model("mlp", dataset=digits, num_classes=3)
    assert model(digits.train_x).shape == (8, 10)


def test_unknown_model_error_lists_the_known_names() -> None:
    with pytest.raises(ConfigError) as info:
        build_model("vgg16")
    for name in MODELS:
        assert name in str(info.value)


@pytest.mark.parametrize(
    ("name", "kwargs", "match"),
    [
        ("logreg", {"num_classes": 2}, "needs num_features"),
        ("logreg", {"num_classes": 10, "num_features": 5}, "binary"),
        ("resnet18", {"input_shape": (64,)}, r"\(C, H, W\)"),
        ("cnn", {"input_shape": (1, 8, 8)}, "at least 16x16"),
        ("mlp", {"num_features": 100}, "sparse data needs 'logreg'"),
        ("mlp", {"num_classes": 1}, "num_classes=1"),
    ],
)
def test_models_reject_data_they_cannot_take(name: str, kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        build_model(name, **kwargs)


def test_each_dataset_has_a_registered_default_model() -> None:
    assert default_model_for("cifar10") == "resnet18"
    assert default_model_for("amazon") == "logreg"
    for dataset in ("digits", "fashion-mnist", "cifar10", "amazon"):
        assert default_model_for(dataset) in MODELS
    with pytest.raises(ConfigError, match="known datasets"):
        default_model_for("imagenet")
