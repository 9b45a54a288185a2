"""A snapshot is language-neutral: a manifest plus raw little-endian tensors (real master).

Checked with numpy and hashlib only, as a client in another language would: the manifest
tiles the data, the param tensors are the model's parameters in order, sha256 of that region
is the digest GetStatus and the last update announce, and the velocity is the master's
momentum buffer. A fresh replica loaded from it has the master's digest.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np

from election.training.replica import Replica
from election.votes import pack_ternary
from tests.integration.grpc_helpers import live_master, small_config
from wire import serde
from wire import snapshot as layout
from wire.gen.election.v1 import election_pb2 as pb
from wire.messages import Credentials, JoinClaim, UpdateQuery, Vote
from worker.client import MasterClient

ROUNDS = 2  # rounds driven before the snapshot (the momentum buffer exists after the first)


def test_snapshot_manifest_raw_tensors_and_digest(tmp_path: Path) -> None:
    cfg = small_config(tmp_path, steps=ROUNDS + 2)
    with live_master(cfg, tmp_path, run=True, linger_s=0.0) as live:
        client = MasterClient(live.target)
        creds = []
        for slot in range(cfg.n):
            a = client.join(JoinClaim(slot, f"test-{slot}", live.join_secret))
            creds.append(Credentials(a.run_id, a.slot, a.token))
        d = live.service.dim
        digest = ""
        for r in range(ROUNDS):
            for cred in creds:
                values = np.where(np.arange(d) % (cred.slot + 2) == 0, -1, 1).astype(np.int8)
                client.submit(Vote(cred, r, pack_ternary(values)))
            digest = client.get_update(
                UpdateQuery(creds[0], r), timeout_s=30, max_nbytes=4 * d + 64
            ).digest
        deadline = time.monotonic() + 10
        while client.status().round < ROUNDS and time.monotonic() < deadline:
            time.sleep(0.02)
        status = client.status()
        chunks = list(
            live.stub().GetSnapshot(
                pb.SnapshotRequest(run_id="live-run", slot=1, token=creds[1].token), timeout=30
            )
        )
        header = chunks[0].header
        data = b"".join(c.data for c in chunks)
        replica = live.service.node.replica
        with live.service.model_lock:
            flat = replica.flat().cpu().numpy()
            velocity = replica.optimizer.velocity.cpu().numpy()  # type: ignore[union-attr]
        names = [name for name, _ in replica.model.named_parameters()]
        client.close()
    assert header.round == status.round == ROUNDS
    assert [t.name for t in header.tensors] == [f"param/{n}" for n in names] + [
        "optimizer/velocity"
    ]
    offset = 0
    for t in header.tensors:
        assert t.dtype == pb.DTYPE_FLOAT32_LE and t.offset == offset
        assert t.nbytes == 4 * int(np.prod(t.shape))
        offset += t.nbytes
    assert offset == len(data) == header.total_nbytes == 8 * d
    params = data[: 4 * d]
    assert hashlib.sha256(params).hexdigest() == header.digest == status.digest == digest
    assert np.array_equal(np.frombuffer(params, dtype="<f4"), flat)
    assert np.array_equal(np.frombuffer(data[4 * d :], dtype="<f4"), velocity)
    snap = serde.snapshot_from_chunks(chunks, max_nbytes=1 << 30)
    fresh = Replica(live.service.setup.cfg, live.service.setup.dataset, replica.device)
    layout.load_into(fresh, snap.tensors, snap.state)
    assert fresh.digest() == header.digest
