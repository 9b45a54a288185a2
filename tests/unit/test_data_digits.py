"""The bundled digits: shapes, scaling and a split that never changes."""

import torch

from election.data import DATASETS, load_dataset


def test_digits_has_1437_train_and_360_test_samples_of_64_features() -> None:
    d = load_dataset("digits")
    assert (d.n_train, d.n_test) == (1437, 360)
    assert d.train_x.shape == (1437, 64) and d.test_x.shape == (360, 64)
    assert d.input_shape == (64,) and d.num_classes == 10 and d.metric == "accuracy"
    assert d.train_x.dtype == torch.float32 and d.train_y.dtype == torch.int64
    assert d.num_features is None


def test_digits_features_are_centred_scaled_and_never_exactly_zero() -> None:
    d = load_dataset("digits")
    both = torch.cat([d.train_x, d.test_x])
    assert float(both.min()) == -7.5 / 8 and float(both.max()) == 8.5 / 8
    assert bool((both != 0).all())


def test_digits_split_is_identical_across_loads_and_disjoint() -> None:
    a, b = load_dataset("digits"), load_dataset("digits")
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.test_y, b.test_y)
    train_rows = {tuple(r.tolist()) for r in a.train_x}
    # the bundled data has a handful of duplicate images, so allow a few coincidences
    assert sum(tuple(r.tolist()) in train_rows for r in a.test_x) < 10


def test_digits_split_is_shuffled_so_every_class_is_in_the_test_set() -> None:
    d = load_dataset("digits")
    assert set(d.test_y.tolist()) == set(range(10))


def test_digits_is_registered() -> None:
    assert "digits" in DATASETS
    d = load_dataset("digits")  # scikit-learn's 1,797 8x8 images, 80/20 split
    assert (d.n_train, d.n_test, tuple(d.train_x.shape[1:])) == (1437, 360, (64,))
