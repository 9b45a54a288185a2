"""Allocation (encoding) matrices: the domain object every code is.

System model (docs/design.md §2; Sohn et al. 2020, §2): n workers and n data partitions; the
allocation matrix G in {0,1}^{n x n} has G[j, i] = 1 iff worker j is assigned partition i
(worker-major rows). Worker j's support is S_j = {i : G[j, i] = 1}; the redundancy is
r = ones(G) / n, the mean number of partitions per worker.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from election.errors import CodeError


@dataclass(frozen=True, eq=False)
class AllocationCode:
    """A validated allocation matrix G plus the name of the code family that built it.

    ``eq=False`` keeps the object hashable by identity (numpy arrays do not hash); compare codes
    with ``np.array_equal(a.matrix, b.matrix)``. The stored matrix is a read-only copy.
    """

    matrix: np.ndarray  # (n_workers, n_partitions) uint8 in {0, 1}
    kind: str
    b: int | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False)
    allow_empty_rows: bool = False  # file: and one-draw Bernoulli codes may have idle workers

    def __post_init__(self) -> None:
        matrix = as_binary_matrix(self.matrix, allow_empty_rows=self.allow_empty_rows)
        object.__setattr__(self, "matrix", matrix)
        if self.b is not None and not 0 <= self.b <= self.n:
            raise CodeError(f"b={self.b} must satisfy 0 <= b <= n={self.n}")

    @property
    def n(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def redundancy(self) -> float:
        """r = ones(G) / n."""
        return float(self.matrix.sum()) / self.n

    def empty_rows(self) -> tuple[int, ...]:
        """Workers holding no partition (they vote 0)."""
        return tuple(int(j) for j in np.flatnonzero(self.matrix.sum(axis=1) == 0))

    def uncovered_columns(self) -> tuple[int, ...]:
        """Partitions no worker holds (their data is never used)."""
        return tuple(int(i) for i in np.flatnonzero(self.matrix.sum(axis=0) == 0))

    def partitions_of(self, worker: int) -> tuple[int, ...]:
        """S_j: the sorted partition ids held by ``worker``."""
        if not 0 <= worker < self.n:
            raise CodeError(f"worker={worker} is out of range [0, {self.n})")
        return tuple(int(i) for i in np.flatnonzero(self.matrix[worker]))

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "n": self.n,
            "b": self.b,
            "redundancy": self.redundancy,
            "matrix": self.matrix.astype(int).tolist(),
            **self.meta,
        }


def as_binary_matrix(values: Any, *, allow_empty_rows: bool = False) -> np.ndarray:
    """Validate ``values`` as a square 0/1 matrix with no empty row (unless
    ``allow_empty_rows``); return read-only uint8."""
    if (
        isinstance(values, list)
        and len({len(r) if isinstance(r, list) else -1 for r in values}) > 1
    ):
        raise CodeError("allocation matrix rows have different lengths")
    try:
        array = np.asarray(values)
    except ValueError:  # ragged nested sequences
        raise CodeError("allocation matrix rows have different lengths") from None
    if array.dtype == object or array.ndim != 2:
        raise CodeError(
            f"allocation matrix must be 2-D with rows of equal length, got shape {array.shape}"
        )
    if array.shape[0] != array.shape[1] or array.shape[0] == 0:
        raise CodeError(
            f"allocation matrix must be square (n workers x n partitions), got "
            f"{array.shape[0]} x {array.shape[1]}"
        )
    if not np.issubdtype(array.dtype, np.number) and array.dtype != np.bool_:
        raise CodeError(f"allocation matrix entries must be 0 or 1, got dtype {array.dtype}")
    bad = ~np.isin(array, (0, 1))
    if bad.any():
        j, i = (int(v) for v in np.argwhere(bad)[0])
        raise CodeError(f"allocation matrix entries must be 0 or 1; G[{j},{i}]={array[j, i]!r}")
    binary = array.astype(np.uint8)  # (n_workers, n_partitions) uint8
    empty = np.flatnonzero(binary.sum(axis=1) == 0)
    if empty.size and not allow_empty_rows:
        raise CodeError(f"worker {int(empty[0])} has no partition (all-zero row in G)")
    binary.setflags(write=False)
    return binary


def load_matrix(path: str | Path, *, allow_empty_rows: bool = False) -> np.ndarray:
    """Read G from JSON (a list of rows, or an object with "matrix") or from 0/1 text rows.

    Text rows may be separated by whitespace or commas; blank lines and ``#`` comments are skipped.
    """
    return as_binary_matrix(_read_rows(path), allow_empty_rows=allow_empty_rows)


def _read_rows(path: str | Path) -> Any:
    """The matrix rows of a JSON or text file, not yet validated as a code."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CodeError(f"cannot read allocation matrix file {str(file)!r}: {exc}") from None
    if file.suffix.lower() == ".json" or text.lstrip().startswith(("[", "{")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CodeError(f"{str(file)!r} is not valid JSON: {exc}") from None
        if isinstance(data, dict):
            if "matrix" not in data:
                raise CodeError(f"{str(file)!r}: JSON object has no 'matrix' key")
            data = data["matrix"]
        if not isinstance(data, list) or not all(isinstance(row, list) for row in data):
            raise CodeError(f"{str(file)!r}: 'matrix' must be a list of rows (lists of 0/1)")
        if any(not isinstance(v, int) or isinstance(v, bool) for row in data for v in row):
            raise CodeError(f"{str(file)!r}: matrix entries must be the integers 0 or 1")
        return data
    rows = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].replace(",", " ").strip()
        if not line:
            continue
        tokens = line.split()
        if len(tokens) == 1 and len(tokens[0]) > 1:  # compact form "01101"
            tokens = list(tokens[0])
        if any(t not in ("0", "1") for t in tokens):
            raise CodeError(f"{str(file)!r} line {line_no}: entries must be 0 or 1, got {line!r}")
        rows.append([int(t) for t in tokens])
    if not rows:
        raise CodeError(f"{str(file)!r} contains no matrix rows")
    if len({len(r) for r in rows}) != 1:
        raise CodeError(
            f"{str(file)!r}: rows have different lengths {sorted({len(r) for r in rows})}"
        )
    return rows
