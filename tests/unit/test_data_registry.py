"""load_dataset's registry, num_train truncation and Dataset validation."""

import pytest
import torch

from election.data import DATASETS, Dataset, load_dataset
from election.errors import ConfigError, DataError


def test_registry_lists_the_four_datasets() -> None:
    assert set(DATASETS) == {"digits", "fashion-mnist", "cifar10", "amazon"}


def test_unknown_dataset_error_lists_the_known_names() -> None:
    with pytest.raises(ConfigError) as info:
        load_dataset("mnist")
    for name in DATASETS:
        assert name in str(info.value)
    assert "'mnist'" in str(info.value)


def test_num_train_keeps_the_first_training_samples_and_the_whole_test_set() -> None:
    full = load_dataset("digits")
    cut = load_dataset("digits", num_train=100)
    assert cut.n_train == 100 and cut.n_test == full.n_test
    assert torch.equal(cut.train_x, full.train_x[:100])
    assert torch.equal(cut.train_y, full.train_y[:100])


@pytest.mark.parametrize("num_train", [0, -1, 1438])
def test_num_train_outside_the_training_set_is_a_config_error(num_train: int) -> None:
    with pytest.raises(ConfigError, match=f"num_train={num_train}"):
        load_dataset("digits", num_train=num_train)


def _tiny(**overrides: object) -> Dataset:
    fields: dict[str, object] = dict(
        name="tiny",
        train_x=torch.zeros(4, 3),
        train_y=torch.tensor([0, 1, 0, 1]),
        test_x=torch.zeros(2, 3),
        test_y=torch.tensor([1, 0]),
        num_classes=2,
        metric="accuracy",
        input_shape=(3,),
    )
    fields.update(overrides)
    return Dataset(**fields)  # type: ignore[arg-type]


def test_a_valid_dataset_reports_its_sizes() -> None:
    d = _tiny()
    assert (d.n_train, d.n_test) == (4, 2)


@pytest.mark.parametrize(
    "overrides",
    [
        {"train_y": torch.tensor([0, 1, 0])},  # length mismatch
        {"train_y": torch.tensor([0, 1, 0, 2])},  # label out of range
        {"train_y": torch.tensor([0.0, 1.0, 0.0, 1.0])},  # float labels
        {"input_shape": (4,)},  # shape mismatch
        {"train_x": torch.zeros(4, 3, dtype=torch.float64)},  # dense data must be float32
        {"num_features": 5},  # sparse data must be int64 indices
        {  # indices beyond the one-hot width
            "train_x": torch.tensor([[0, 1, 5]] * 4),
            "test_x": torch.tensor([[0, 1, 2]] * 2),
            "num_features": 5,
        },
    ],
)
def test_dataset_rejects_inconsistent_fields_with_a_data_error(overrides: dict) -> None:
    with pytest.raises(DataError):
        _tiny(**overrides)


def test_dataset_rejects_an_unknown_metric() -> None:
    with pytest.raises(ConfigError, match="metric"):
        _tiny(metric="f1")
