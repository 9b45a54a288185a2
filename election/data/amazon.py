"""Amazon Employee Access (Kaggle 2013) as sparse one-hot rows for logistic regression.

The paper (Sec. 5) trains logistic regression on ~263k one-hot features built the way the
winning Kaggle entries did. Pipeline, over all 32,769 rows of ``train.csv`` (labels unused):

1. label-encode the 9 categorical columns (ACTION is the label, y in {0, 1});
2. add every pair (36) and triple (84) of columns as a new categorical column whose value is
   the tuple of its members' codes -> C = 9 + 36 + 84 = 129 columns;
3. in each column, values seen fewer than ``AMAZON_RARE_THRESHOLD`` times share one "rare"
   code (the column's last code);
4. one-hot: column c's code k is feature ``offset[c] + k``; the offsets stack the columns.

Each sample is stored as its C active feature indices, an int64 row of length 129, so
``w . onehot(x) = w[x].sum()``. With threshold 3 the one-hot width is 263,372 (the paper's
~263k). The official code's variant (``load_amazon_seed``, the seed protocol) puts values seen
once and values seen twice into two separate buckets: 263,500 features, as its comment says.
The first 26,325 rows train, the remaining 6,444 test; the metric is ROC AUC.
Encoding takes well under a second, so nothing is cached.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import torch

from election.data.base import DEFAULT_ROOT, Dataset, describe_paths
from election.errors import DataError

AMAZON_COLUMNS = (
    "RESOURCE", "MGR_ID", "ROLE_ROLLUP_1", "ROLE_ROLLUP_2", "ROLE_DEPTNAME",
    "ROLE_TITLE", "ROLE_FAMILY_DESC", "ROLE_FAMILY", "ROLE_CODE",
)  # fmt: skip
AMAZON_LABEL = "ACTION"  # 1 = access granted, 0 = denied
AMAZON_TRAIN_ROWS = 26_325  # the paper's split for n = 5 or 15 workers; the rest is the test set
AMAZON_RARE_THRESHOLD = 3  # values seen < 3 times share a bucket: 263,372 one-hot features
AMAZON_MAX_ORDER = 3  # columns are combined in groups of 1, 2 and 3 -> 129 categorical columns
AMAZON_KAGGLE_URL = "https://www.kaggle.com/c/amazon-employee-access-challenge/data"
# The development copy in the data folder beside this checkout, then the default data root.
DEFAULT_CSV_PATHS = (
    Path(__file__).resolve().parents[3] / "shared" / "data" / "amazon" / "train.csv",
    Path("/work/shared/data/amazon/train.csv"),  # the same copy when installed elsewhere
    DEFAULT_ROOT / "amazon" / "train.csv",
)


def column_groups(n_columns: int = len(AMAZON_COLUMNS)) -> list[tuple[int, ...]]:
    """All column subsets of size 1..AMAZON_MAX_ORDER, singles first, lexicographic within."""
    return [
        g
        for order in range(1, AMAZON_MAX_ORDER + 1)
        for g in itertools.combinations(range(n_columns), order)
    ]


def candidate_paths(root: Path | None) -> list[Path]:
    """Where ``train.csv`` is looked for: only under ``root`` when one is given."""
    if root is not None:
        return [root, root / "train.csv", root / "amazon" / "train.csv"]
    return list(DEFAULT_CSV_PATHS)


def read_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``train.csv`` -> (int64 (N, 9) categorical ids, int64 (N,) labels); DataError if bad."""
    with path.open() as f:
        header = tuple(f.readline().strip().split(","))
    if header != (AMAZON_LABEL, *AMAZON_COLUMNS):
        raise DataError(f"{path}: header {','.join(header)!r} is not ACTION,RESOURCE,...,ROLE_CODE")
    try:
        table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.int64, ndmin=2)
    except ValueError as exc:
        raise DataError(f"{path}: not an all-integer CSV ({exc})") from None
    labels = table[:, 0]  # (N,) int64
    if not np.isin(labels, (0, 1)).all():
        raise DataError(f"{path}: {AMAZON_LABEL} must be 0 or 1")
    return table[:, 1:], labels


def encode(
    raw: np.ndarray, *, rare_threshold: int = AMAZON_RARE_THRESHOLD, split_rare: bool = False
) -> tuple[np.ndarray, int]:
    """Categorical ids (N, 9) -> (active one-hot indices (N, 129) int64, one-hot width).

    ``split_rare`` is the official pipeline (docs/paper.md): values seen once share one bucket
    and values seen twice another (rare_threshold must be 3), instead of one bucket for both.
    """
    if split_rare and rare_threshold != AMAZON_RARE_THRESHOLD:
        raise DataError("split_rare buckets values seen once and twice: rare_threshold must be 3")
    codes = np.empty_like(raw)  # (N, 9) int64 dense label codes per column
    cards = []
    for c in range(raw.shape[1]):
        uniq, codes[:, c] = np.unique(raw[:, c], return_inverse=True)
        cards.append(len(uniq))
    groups = column_groups(raw.shape[1])
    out = np.empty((raw.shape[0], len(groups)), dtype=np.int64)  # (N, 129) int64
    offset = 0
    for j, group in enumerate(groups):
        key = codes[:, group[0]].copy()  # (N,) int64: mixed-radix number of the group's codes
        for c in group[1:]:
            key = key * cards[c] + codes[:, c]  # < 7518 * 4243 * 2358 < 2**63 for this data
        _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        local, width = _column_codes(counts, rare_threshold, split_rare)
        out[:, j] = offset + local[inverse]
        offset += width
    return out, offset


def _column_codes(
    counts: np.ndarray, rare_threshold: int, split_rare: bool
) -> tuple[np.ndarray, int]:
    """Per distinct value (its count in ``counts``) -> its one-hot code; and the column width.

    Kept values (count >= threshold) get 0..k-1; rare ones share code k, or with ``split_rare``
    values seen once get k and values seen twice the next code.
    """
    kept = counts >= rare_threshold
    n_kept = int(kept.sum())
    local = np.where(kept, np.cumsum(kept) - 1, n_kept)  # (values,) int64: rare -> code n_kept
    if not split_rare:
        return local, n_kept + int(not kept.all())
    once, twice = counts == 1, counts == 2
    twice_code = n_kept + int(once.any())
    local = np.where(twice, twice_code, local)
    return local, n_kept + int(once.any()) + int(twice.any())


def load_amazon(root: Path | None = None, download: bool = False) -> Dataset:
    """Load and encode the Amazon CSV (Kaggle needs a login, so ``download`` cannot help)."""
    return _load(root, split_rare=False)


def load_amazon_seed(root: Path | None = None, download: bool = False) -> Dataset:
    """The official code's features (amazon_employer/MPI_main.py:125-200; docs/paper.md): values
    seen once and twice in two separate buckets per column, 263,500 one-hot features."""
    return _load(root, split_rare=True)


def _load(root: Path | None, *, split_rare: bool) -> Dataset:
    paths = candidate_paths(root)
    path = next((p for p in paths if p.is_file()), None)
    if path is None:
        raise DataError(
            f"amazon: train.csv not found at any of: {describe_paths(paths)}. Download train.csv "
            f"from {AMAZON_KAGGLE_URL} (Kaggle login needed; download=True cannot fetch it) and "
            "pass its folder as the data root"
        )
    raw, labels = read_csv(path)
    if raw.shape[0] <= AMAZON_TRAIN_ROWS:
        raise DataError(
            f"{path}: {raw.shape[0]} rows, need more than {AMAZON_TRAIN_ROWS} (train) + test rows"
        )
    x, width = encode(raw, split_rare=split_rare)
    cut = AMAZON_TRAIN_ROWS
    return Dataset(
        name="amazon",
        train_x=torch.from_numpy(x[:cut].copy()),
        train_y=torch.from_numpy(labels[:cut].copy()),
        test_x=torch.from_numpy(x[cut:].copy()),
        test_y=torch.from_numpy(labels[cut:].copy()),
        num_classes=2,
        metric="auc",
        input_shape=(x.shape[1],),
        num_features=width,
    )
