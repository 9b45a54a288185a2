"""CIFAR-10: the real loader on tiny batches written here in the real pickle format."""

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from election.data import cifar10, load_dataset
from election.errors import DataError

PER_BATCH = 3  # images per tiny batch file


def write_batch(path: Path, data: np.ndarray, labels: list[int]) -> None:
    """One batch as the official release stores it: a pickled dict with bytes keys."""
    entry = {
        b"batch_label": path.name.encode(),
        b"labels": labels,
        b"data": data,
        b"filenames": [f"img_{i}.png".encode() for i in range(len(labels))],
    }
    with path.open("wb") as f:
        pickle.dump(entry, f, protocol=2)


def write_cifar(root: Path) -> Path:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [*cifar10.TRAIN_BATCHES, cifar10.TEST_BATCH]
    for b, name in enumerate(names):
        data = rng.integers(0, 256, (PER_BATCH, 3072), dtype=np.uint8)
        write_batch(folder / name, data, [(b + i) % 10 for i in range(PER_BATCH)])
    return folder


@pytest.fixture
def no_default_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(cifar10, "DEFAULT_ROOT", tmp_path / "default-root")


def test_loader_concatenates_the_five_training_batches_in_order(
    tmp_path: Path, no_default_root: None
) -> None:
    write_cifar(tmp_path)
    d = load_dataset("cifar10", root=tmp_path)
    assert (d.n_train, d.n_test) == (5 * PER_BATCH, PER_BATCH)
    assert d.train_x.shape == (15, 3, 32, 32) and d.input_shape == (3, 32, 32)
    assert d.train_y.tolist() == [(b + i) % 10 for b in range(5) for i in range(PER_BATCH)]
    assert d.test_y.tolist() == [5, 6, 7] and d.metric == "accuracy"


def test_pixels_are_channel_planes_normalised_per_channel(
    tmp_path: Path, no_default_root: None
) -> None:
    folder = write_cifar(tmp_path)
    data = np.zeros((1, 3072), dtype=np.uint8)
    data[0, :1024], data[0, 1024:2048], data[0, 2048:] = 255, 0, 51  # red, green, blue planes
    data[0, 1024 + 32 * 4 + 7] = 255  # green pixel at row 4, column 7
    write_batch(folder / cifar10.TEST_BATCH, data, [9])
    x = load_dataset("cifar10", root=tmp_path).test_x[0]  # (3, 32, 32)
    mean, std = cifar10.CIFAR10_MEAN, cifar10.CIFAR10_STD
    torch.testing.assert_close(x[0], torch.full((32, 32), (1 - mean[0]) / std[0]))
    torch.testing.assert_close(x[2], torch.full((32, 32), (0.2 - mean[2]) / std[2]))
    assert torch.isclose(x[1, 4, 7], torch.tensor((1 - mean[1]) / std[1]))
    assert torch.isclose(x[1, 7, 4], torch.tensor(-mean[1] / std[1]))


def test_root_may_point_at_the_batches_folder_itself(tmp_path: Path, no_default_root: None) -> None:
    folder = write_cifar(tmp_path)
    assert load_dataset("cifar10", root=folder, num_train=4).n_train == 4


def test_a_malformed_batch_is_a_data_error(tmp_path: Path, no_default_root: None) -> None:
    folder = write_cifar(tmp_path)
    write_batch(folder / "data_batch_3", np.zeros((2, 100), dtype=np.uint8), [0, 1])
    with pytest.raises(DataError, match="data_batch_3"):
        load_dataset("cifar10", root=tmp_path)


def test_a_file_that_is_not_a_pickle_is_a_data_error(tmp_path: Path, no_default_root: None) -> None:
    folder = write_cifar(tmp_path)
    (folder / cifar10.TEST_BATCH).write_bytes(b"not a pickle")
    with pytest.raises(DataError, match="not a CIFAR pickle"):
        load_dataset("cifar10", root=tmp_path)


def test_missing_folder_error_names_where_it_looked_and_how_to_download(
    tmp_path: Path, no_default_root: None
) -> None:
    with pytest.raises(DataError) as info:
        load_dataset("cifar10", root=tmp_path)
    message = str(info.value)
    assert str(tmp_path / "cifar-10-batches-py") in message and "download=True" in message
