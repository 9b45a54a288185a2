"""scikit-learn's bundled handwritten digits: the embedded default that needs no download.

1,797 grey 8x8 images (values 0..16) of the digits 0-9. We centre and scale the integer pixel
counts to x' = (x - 7.5) / 8, in [-0.94, 1.06] and never exactly 0, so no input feature zeroes
a gradient coordinate. Partition gradient coordinates can still be exactly zero: a tanh hidden
unit that saturates to exactly +-1 in float32 has derivative 0, and every weight into it then
has a zero gradient on that partition. So partition signs are ternary, not always in {-1, +1}
(the setting of the paper's tolerance guarantee): in `election train --dataset digits --steps 40
--seed 7 --n 9 --b 3 --audit` the all-partition signs tie (mu = 0 with some u_i != 0) on 10
coordinate-steps, from step 39 on, and there the attackers can move the update under any code
(docs/codes.md, "Zero signs"). We shuffle once with a fixed seed and take the first 1,437
samples for training and the last 360 for testing (an 80/20 split identical on every machine).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from election.data.base import Dataset

DIGITS_SPLIT_SEED = 0  # fixed shuffle: the split never changes between runs or machines
DIGITS_NUM_TRAIN = 1437  # 80% of 1,797; the last 360 shuffled samples are the test set
DIGITS_CENTER = 7.5  # pixel counts lie in 0..16; a half-integer centre keeps every feature != 0
DIGITS_SCALE = 8.0  # maps the counts to [-0.94, 1.06]


def load_digits(root: Path | None = None, download: bool = False) -> Dataset:
    """Load the digits; ``root`` and ``download`` exist for a uniform signature and are ignored."""
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    x = (np.asarray(bunch.data, dtype=np.float32) - DIGITS_CENTER) / DIGITS_SCALE  # (1797, 64)
    y = np.asarray(bunch.target, dtype=np.int64)  # (1797,) int64
    order = np.random.default_rng(DIGITS_SPLIT_SEED).permutation(len(y))
    x, y = x[order], y[order]
    cut = DIGITS_NUM_TRAIN
    return Dataset(
        name="digits",
        train_x=torch.from_numpy(np.ascontiguousarray(x[:cut])),
        train_y=torch.from_numpy(np.ascontiguousarray(y[:cut])),
        test_x=torch.from_numpy(np.ascontiguousarray(x[cut:])),
        test_y=torch.from_numpy(np.ascontiguousarray(y[cut:])),
        num_classes=10,
        metric="accuracy",
        input_shape=(x.shape[1],),
    )
