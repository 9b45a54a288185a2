"""Amazon Employee Access: the one-hot pipeline against a naive oracle, and the real CSV."""

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from election.data import Dataset, amazon, load_dataset
from election.errors import DataError

REAL_CSV = amazon.DEFAULT_CSV_PATHS[0]
needs_csv = pytest.mark.skipif(
    not any(p.is_file() for p in amazon.DEFAULT_CSV_PATHS), reason="Amazon train.csv not present"
)


def naive_encode(raw: np.ndarray, threshold: int) -> tuple[np.ndarray, int]:
    """Reference: per group, sorted frequent value tuples get 0.., rare ones share the last."""
    out = np.zeros((raw.shape[0], len(amazon.column_groups(raw.shape[1]))), dtype=np.int64)
    offset = 0
    for j, group in enumerate(amazon.column_groups(raw.shape[1])):
        values = [tuple(int(v) for v in row[list(group)]) for row in raw]
        counts = Counter(values)
        frequent = sorted(v for v, c in counts.items() if c >= threshold)
        index = {v: k for k, v in enumerate(frequent)}
        for i, v in enumerate(values):
            out[i, j] = offset + index.get(v, len(frequent))
        offset += len(frequent) + (1 if len(frequent) < len(counts) else 0)
    return out, offset


@pytest.mark.parametrize("threshold", [1, 2, 3])
def test_encode_matches_the_naive_reference_on_random_categories(threshold: int) -> None:
    rng = np.random.default_rng(threshold)
    raw = rng.integers(0, 4, size=(60, 9)) * 1000 + rng.integers(0, 2, size=(60, 9))
    got, width = amazon.encode(raw, rare_threshold=threshold)
    want, want_width = naive_encode(raw, threshold)
    assert got.shape == (60, 129) and width == want_width
    np.testing.assert_array_equal(got, want)


def test_column_groups_are_9_singles_36_pairs_and_84_triples() -> None:
    sizes = Counter(len(g) for g in amazon.column_groups())
    assert sizes == {1: 9, 2: 36, 3: 84}


def test_missing_csv_error_names_the_path_and_the_kaggle_page(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        load_dataset("amazon", root=tmp_path)
    message = str(info.value)
    assert str(tmp_path / "train.csv") in message and amazon.AMAZON_KAGGLE_URL in message


def test_a_csv_with_the_wrong_header_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="header"):
        load_dataset("amazon", root=tmp_path)


@pytest.fixture(scope="module")
def real() -> Dataset:
    return load_dataset("amazon")


@needs_csv
def test_real_csv_splits_26325_train_and_6444_test_rows(real: Dataset) -> None:
    assert (real.n_train, real.n_test) == (26325, 6444)
    assert real.train_x.shape == (26325, 129) and real.input_shape == (129,)
    assert real.metric == "auc" and real.num_classes == 2


@needs_csv
def test_real_csv_has_263372_one_hot_features_and_valid_indices(real: Dataset) -> None:
    assert real.num_features == 263372
    both = torch.cat([real.train_x, real.test_x])
    assert both.dtype == torch.int64
    assert int(both.min()) >= 0 and int(both.max()) < real.num_features
    assert int(both.max()) == real.num_features - 1
    # column c's indices lie in its own block, so blocks increase along a row
    assert bool((both[:, 1:] > both[:, :-1]).all())


@needs_csv
def test_real_labels_are_action_zero_or_one_and_mostly_granted(real: Dataset) -> None:
    assert set(real.train_y.unique().tolist()) == {0, 1}
    assert 0.9 < float(real.train_y.float().mean()) < 0.97
    assert int(real.train_y[0]) == 1  # first data row of train.csv starts with ACTION=1


@needs_csv
def test_root_may_name_the_csv_file_itself() -> None:
    d = load_dataset("amazon", root=REAL_CSV if REAL_CSV.is_file() else None, num_train=10)
    assert d.n_train == 10 and d.n_test == 6444
