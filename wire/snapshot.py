"""The language-neutral snapshot layout: a manifest of tensors plus their raw little-endian bytes.

A snapshot (GetSnapshot) is the replica's state at the start of a round, as the proto states:

    "param/<name>"        every model parameter, in the model's parameter order, float32 LE,
                          row-major, with its shape
    "optimizer/velocity"  the master momentum buffer, (d,) float32 LE (absent while None)

back to back from offset 0, no gaps. The model digest is SHA-256 of the param region, i.e.
of the parameters as one float32 little-endian vector in parameter order
(:meth:`election.training.replica.Replica.digest`), so any client can verify a snapshot with
a hash function and resync with a float32 reader. Pure numpy; torch only where a replica is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from wire.errors import MalformedMessage

FLOAT32_LE = "DTYPE_FLOAT32_LE"
DTYPES = {FLOAT32_LE: np.dtype("<f4")}
PARAM_PREFIX = "param/"
VELOCITY = "optimizer/velocity"


@dataclass(frozen=True)
class TensorSpec:
    """One manifest entry: where a tensor's values lie in the snapshot's data."""

    name: str
    dtype: str  # a DTYPES key
    shape: tuple[int, ...]
    offset: int  # bytes
    nbytes: int

    @property
    def count(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1


def encode(
    params: Sequence[tuple[str, tuple[int, ...]]],
    flat: np.ndarray,
    velocity: np.ndarray | None,
) -> tuple[tuple[TensorSpec, ...], bytes]:
    """Manifest and bytes of a state: ``flat`` (d,) float32 parameters, ``velocity`` or None."""
    dtype = DTYPES[FLOAT32_LE]
    parts = [np.ascontiguousarray(flat, dtype=dtype).tobytes()]
    specs, offset = [], 0
    for name, shape in params:
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        specs.append(TensorSpec(PARAM_PREFIX + name, FLOAT32_LE, tuple(shape), offset, nbytes))
        offset += nbytes
    if offset != len(parts[0]):
        raise ValueError(f"parameter shapes cover {offset} B, the flat vector has {len(parts[0])}")
    if velocity is not None:
        data = np.ascontiguousarray(velocity, dtype=dtype).tobytes()
        specs.append(TensorSpec(VELOCITY, FLOAT32_LE, (velocity.size,), offset, len(data)))
        parts.append(data)
    return tuple(specs), b"".join(parts)


def check_layout(specs: Sequence[TensorSpec], data: bytes) -> int:
    """Raise MalformedMessage unless the manifest tiles ``data``; returns the param bytes."""
    offset, param_bytes, others = 0, 0, False
    for spec in specs:
        if spec.dtype not in DTYPES:
            raise MalformedMessage(f"tensor {spec.name!r}: unknown dtype {spec.dtype}")
        if spec.offset != offset:
            raise MalformedMessage(f"tensor {spec.name!r} at {spec.offset}, expected {offset}")
        if spec.nbytes != spec.count * DTYPES[spec.dtype].itemsize:
            raise MalformedMessage(f"tensor {spec.name!r}: {spec.nbytes} B for {spec.shape}")
        if spec.name.startswith(PARAM_PREFIX):
            if others:
                raise MalformedMessage("param tensors must come first")
            param_bytes += spec.nbytes
        else:
            others = True
        offset += spec.nbytes
    if offset != len(data):
        raise MalformedMessage(f"the manifest covers {offset} B, the snapshot has {len(data)}")
    return param_bytes


def digest_of(specs: Sequence[TensorSpec], data: bytes) -> str:
    """SHA-256 (hex) of the param region: the model digest of the snapshot."""
    return hashlib.sha256(data[: check_layout(specs, data)]).hexdigest()


def decode(
    specs: Sequence[TensorSpec], data: bytes, params: Sequence[tuple[str, tuple[int, ...]]]
) -> tuple[np.ndarray, np.ndarray | None]:
    """(flat (d,) float32, velocity (d,) float32 or None), checked against the local model."""
    param_bytes = check_layout(specs, data)
    got = [(s.name, s.shape) for s in specs if s.name.startswith(PARAM_PREFIX)]
    want = [(PARAM_PREFIX + name, tuple(shape)) for name, shape in params]
    if got != want:
        raise MalformedMessage("the snapshot's parameters are not this model's")
    flat = np.frombuffer(data, dtype="<f4", count=param_bytes // 4).astype(np.float32)
    velocity = None
    for spec in specs:
        if spec.name == VELOCITY:
            velocity = np.frombuffer(data, dtype="<f4", count=spec.count, offset=spec.offset)
            velocity = velocity.astype(np.float32)
    return flat, velocity


def replica_params(replica: Any) -> list[tuple[str, tuple[int, ...]]]:
    """(name, shape) of every parameter of a replica's model, in parameter order."""
    return [(name, tuple(p.shape)) for name, p in replica.model.named_parameters()]


def from_replica(replica: Any) -> tuple[tuple[TensorSpec, ...], bytes]:
    """A replica's state (``Replica.state()``) in this layout."""
    state = replica.state()
    velocity = state["optimizer"].get("velocity")
    return encode(
        replica_params(replica),
        state["flat"].numpy(),
        None if velocity is None else velocity.detach().cpu().numpy(),
    )


def load_into(replica: Any, specs: Sequence[TensorSpec], data: bytes) -> None:
    """Load a snapshot into a replica (parameters and master optimizer state)."""
    import torch

    flat, velocity = decode(specs, data, replica_params(replica))
    replica.load_state(
        {
            "flat": torch.from_numpy(flat),
            "optimizer": {
                "velocity": None
                if velocity is None
                else torch.from_numpy(velocity).to(replica.device)
            },
        }
    )
