"""Fashion-MNIST: the IDX parser on files written here, search order, and the real files."""

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from election.data import fashion_mnist as fm
from election.data import load_dataset
from election.errors import DataError

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")


def write_idx(
    path: Path, array: np.ndarray, *, gz: bool = False, magic: bytes | None = None
) -> Path:
    """Write a uint8 array in IDX format: 00 00 08 ndim, big-endian uint32 dims, data."""
    header = magic if magic is not None else bytes([0, 0, 0x08, array.ndim])
    raw = header + struct.pack(f">{array.ndim}I", *array.shape) + array.astype(np.uint8).tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        raw = gzip.compress(raw)
    path.write_bytes(raw)
    return path


def write_fashion(folder: Path, *, n_train: int = 6, n_test: int = 4, gz: bool = False) -> None:
    rng = np.random.default_rng(1)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)), gz=gz)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10, gz=gz)


@pytest.fixture
def no_system_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Hide the Debian folder and the default root so only ``root`` is searched."""
    monkeypatch.setattr(fm, "DEBIAN_DIRS", ())
    monkeypatch.setattr(fm, "DEFAULT_ROOT", tmp_path / "default-root")


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx_round_trips_plain_and_gzipped_files(tmp_path: Path, gz: bool) -> None:
    array = np.arange(2 * 3 * 5, dtype=np.uint8).reshape(2, 3, 5)
    path = write_idx(tmp_path / "x-idx3-ubyte", array, gz=gz)
    np.testing.assert_array_equal(fm.read_idx(path, ndim=3), array)


def test_read_idx_rejects_a_bad_magic_number(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "bad", np.zeros((2, 2)), magic=b"\x00\x00\x0d\x02")
    with pytest.raises(DataError, match="bad IDX magic"):
        fm.read_idx(path)


def test_read_idx_rejects_a_wrong_number_of_dimensions(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "labels", np.zeros(5))
    with pytest.raises(DataError, match="expected 3"):
        fm.read_idx(path, ndim=3)


def test_read_idx_rejects_a_truncated_payload(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "x", np.zeros((4, 4)))
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(DataError, match="need 16 data bytes"):
        fm.read_idx(path)


@pytest.mark.parametrize("gz", [False, True])
def test_loader_reads_small_idx_files_under_root(
    tmp_path: Path, gz: bool, no_system_files: None
) -> None:
    write_fashion(tmp_path / "data", gz=gz)
    d = load_dataset("fashion-mnist", root=tmp_path / "data")
    assert (d.n_train, d.n_test) == (6, 4)
    assert d.train_x.shape == (6, 1, 28, 28) and d.input_shape == (1, 28, 28)
    assert d.train_y.tolist() == [0, 1, 2, 3, 4, 5] and d.test_y.dtype == torch.int64
    raw = fm.read_idx(tmp_path / "data" / ("train-images-idx3-ubyte" + (".gz" if gz else "")))
    expected = (raw[0].astype(np.float32) / 255 - fm.FASHION_MNIST_MEAN) / fm.FASHION_MNIST_STD
    np.testing.assert_allclose(d.train_x[0, 0].numpy(), expected, rtol=1e-6)


def test_loader_finds_torchvisions_raw_folder_under_root(
    tmp_path: Path, no_system_files: None
) -> None:
    write_fashion(tmp_path / "FashionMNIST" / "raw", gz=True)
    assert load_dataset("fashion-mnist", root=tmp_path).n_train == 6


def test_image_and_label_counts_must_agree(tmp_path: Path, no_system_files: None) -> None:
    write_fashion(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(3))
    with pytest.raises(DataError, match="4 test images but 3 labels"):
        load_dataset("fashion-mnist", root=tmp_path)


def test_missing_files_error_names_the_folders_and_how_to_get_them(
    tmp_path: Path, no_system_files: None
) -> None:
    with pytest.raises(DataError) as info:
        load_dataset("fashion-mnist", root=tmp_path)
    message = str(info.value)
    assert str(tmp_path) in message
    assert "apt-get install dataset-fashion-mnist" in message and "download=True" in message


@pytest.mark.skipif(
    not (DEBIAN_DIR / "train-images-idx3-ubyte.gz").exists(),
    reason="Debian package dataset-fashion-mnist is not installed",
)
def test_the_debian_package_files_load_with_60000_train_and_10000_test_images() -> None:
    d = load_dataset("fashion-mnist")
    assert (d.n_train, d.n_test) == (60000, 10000)
    assert d.train_x.shape == (60000, 1, 28, 28)
    assert torch.bincount(d.train_y).tolist() == [6000] * 10
    assert abs(float(d.train_x.mean())) < 0.01 and abs(float(d.train_x.std()) - 1) < 0.01
