"""CIFAR-10 augmentation as cifar10/main.py:65-70 trains: RandomCrop(32, padding=4) and a
horizontal flip, checked against torchvision's own functional ops on images loaded through the
real pickle loader; seeded per (seed, epoch, step, sample), so every path sees the same batch."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.transforms.functional as F

from election.config import build_config
from election.data import cifar10, load_dataset
from election.errors import ConfigError
from election.training.augment import augment_params, crop_flip, normalised_black, train_inputs
from election.training.loop import train_inprocess
from election.training.replica import Replica
from election.training.setup import prepare
from tests.unit.test_data_cifar10 import write_batch


def write_tiny_cifar(root: Path, per_batch: int = 8) -> Path:
    """The six pickles of the official release, per_batch random images each."""
    folder = root / cifar10.CIFAR10_FOLDER
    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for b, name in enumerate([*cifar10.TRAIN_BATCHES, cifar10.TEST_BATCH]):
        data = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        write_batch(folder / name, data, [(b + i) % 10 for i in range(per_batch)])
    return folder


def test_crop_and_flip_equal_torchvision_on_the_raw_images(tmp_path):
    folder = write_tiny_cifar(tmp_path)
    raw, _ = cifar10.read_batch(folder / cifar10.TRAIN_BATCHES[0])  # (8, 3, 32, 32) uint8
    d = load_dataset("cifar10", root=tmp_path)
    params = torch.tensor([[0, 0, 0], [8, 8, 1], [3, 5, 0], [4, 4, 1], [8, 0, 1], [0, 8, 0]])
    got = crop_flip(
        d.train_x[:6], params, normalised_black(cifar10.CIFAR10_MEAN, cifar10.CIFAR10_STD)
    )
    mean = torch.tensor(cifar10.CIFAR10_MEAN).view(3, 1, 1)
    std = torch.tensor(cifar10.CIFAR10_STD).view(3, 1, 1)
    for k, (dy, dx, flip) in enumerate(params.tolist()):
        img = F.pad(torch.from_numpy(raw[k]), [4], fill=0)  # main.py:66 pads with black
        img = F.crop(img, dy, dx, 32, 32)
        img = F.hflip(img) if flip else img
        want = (img.float() / 255 - mean) / std  # main.py:68-69
        torch.testing.assert_close(got[k], want, rtol=0, atol=1e-5)


def test_params_are_a_function_of_seed_epoch_step_and_sample():
    samples = torch.arange(4000)
    p = augment_params(3, 2, 7, samples)
    assert p.shape == (4000, 3)
    assert torch.equal(p, augment_params(3, 2, 7, samples))
    for other in [(4, 2, 7), (3, 3, 7), (3, 2, 8)]:
        assert not torch.equal(p, augment_params(*other, samples))
    counts = Counter(map(tuple, p.tolist()))
    assert len(counts) == 9 * 9 * 2  # every offset pair and flip occurs
    assert abs(float(p[:, 2].float().mean()) - 0.5) < 0.03


def test_the_cifar_preset_augments_and_other_datasets_cannot():
    assert build_config({"dataset": "cifar10"}).augment is True
    assert build_config({"dataset": "cifar10", "augment": False}).augment is False
    with pytest.raises(ConfigError, match="needs dataset=cifar10"):
        build_config({"dataset": "digits", "augment": True})


def small_cifar(tmp_path: Path, **extra) -> dict:
    write_tiny_cifar(tmp_path / "data", per_batch=12)
    return {
        "dataset": "cifar10",
        "data_root": str(tmp_path / "data"),
        "model": "cnn",
        "partition_size": 2,
        "steps": 3,
        "eval_every": 3,
        "threads": 1,
        "runs_dir": str(tmp_path / "runs"),
    } | extra


def test_training_batches_are_augmented_and_test_images_are_not(tmp_path):
    cfg = build_config(small_cifar(tmp_path))
    setup = prepare(cfg)
    idx = torch.arange(10)
    x = train_inputs(cfg, setup.dataset, 0, idx)
    assert not torch.equal(x, setup.dataset.train_x[idx])
    assert torch.equal(train_inputs(cfg.replace(augment=False), setup.dataset, 0, idx),
                       setup.dataset.train_x[idx])  # fmt: skip
    on = Replica(cfg, setup.dataset, setup.device).evaluate()  # no BN in the cnn: same model
    off = Replica(cfg.replace(augment=False), setup.dataset, setup.device).evaluate()
    assert on == off  # evaluation reads the unaugmented test images


def test_every_worker_recomputing_sees_the_same_augmented_batch(tmp_path):
    base = small_cifar(tmp_path, code="bernoulli", r=2.0)
    fast = train_inprocess(prepare(build_config(base)), progress=False)
    slow = train_inprocess(prepare(build_config(base | {"recompute": True})), progress=False)
    plain = train_inprocess(prepare(build_config(base | {"augment": False})), progress=False)
    assert fast["model_sha256"] == slow["model_sha256"] != plain["model_sha256"]
