"""Conformance: a client that shares no code with the project drives a real master.

``node_client.cjs`` is written from ``proto/election/v1/election.proto`` and
``docs/vote_layout.md`` alone: Node.js with ``@grpc/grpc-js`` and ``@grpc/proto-loader``
loading the .proto at run time. It takes the Byzantine slot of a real local cluster (a master
and four Python workers, deterministic code n = 5, b = 1) and goes through Join, valid votes in
every zero encoding (a non-canonical one included), GetUpdate with the packed update decoded,
GetSnapshot resync with the digest recomputed from the snapshot's param tensors every round,
and the final state; the final model must equal the in-process run.

The npm packages are installed on first use into ``build/node-conformance`` (npm registry);
the test is skipped, saying why, only when node/npm are missing or the registry is unreachable.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from master.cluster import REPO_ROOT, LocalCluster
from tests.integration.grpc_helpers import reference_sha, small_config

pytestmark = pytest.mark.e2e

NODE_DIR = REPO_ROOT / "build" / "node-conformance"
PACKAGES = ["@grpc/grpc-js@^1.10", "@grpc/proto-loader@^0.7"]
NETWORK_ERRORS = ("ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNREFUSED", "ECONNRESET", "network")
STEPS = 12
RUN_TIMEOUT_S = 300.0


def node_modules() -> Path:
    """Install the two packages once into build/node-conformance; skip if npm is unreachable."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed for the conformance client")
    modules = NODE_DIR / "node_modules"
    if (modules / "@grpc" / "grpc-js").is_dir() and (modules / "@grpc" / "proto-loader").is_dir():
        return modules
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [npm, "install", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund", *PACKAGES],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        if any(e in proc.stderr for e in NETWORK_ERRORS):
            pytest.skip(f"the npm registry is unreachable: {proc.stderr.strip()[-300:]}")
        raise AssertionError(f"npm install failed:\n{proc.stderr[-3000:]}")
    return modules


def test_a_node_client_from_the_proto_alone_trains_the_in_process_model(tmp_path: Path) -> None:
    modules = node_modules()
    cfg = small_config(
        tmp_path,
        n=5,
        b=1,
        code="deterministic",
        attack="reverse",
        byzantine_select="4",
        steps=STEPS,
    )
    cluster = LocalCluster(cfg, tmp_path / "cluster", master_args=["--quiet"])
    (byzantine,) = cluster.byzantine
    assert byzantine == 4
    env = {
        **os.environ,
        "NODE_PATH": str(modules),
        "MASTER": "",
        "SLOT": str(byzantine),
        "JOIN_SECRET": cluster.env["ELECTION_JOIN_SECRET"],
        "PROTO": str(REPO_ROOT / "proto" / "election" / "v1" / "election.proto"),
    }
    try:
        cluster.start_master()
        env["MASTER"] = cluster.target
        for slot in range(cfg.n):
            if slot != byzantine:
                cluster.start_slot(slot)
        node = subprocess.Popen(
            ["node", str(Path(__file__).with_name("node_client.cjs"))],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            out, err = node.communicate(timeout=RUN_TIMEOUT_S)
        finally:
            if node.poll() is None:
                node.kill()
        assert node.returncode == 0, err[-3000:]
        summary = cluster.wait(RUN_TIMEOUT_S)
    finally:
        cluster.stop()
    result = json.loads(out.strip().splitlines()[-1])
    print(
        f"node client: kinds {result['kinds']}, non-canonical {result['non_canonical']}, "
        f"snapshots verified {result['snapshots_verified']}, final {result['final_digest']}"
    )
    assert result["final_digest"] == summary["model_sha256"] == reference_sha(cfg, tmp_path)
    assert set(result["kinds"]) == {"ZERO_NONE", "ZERO_MASK", "ZERO_INDICES"}
    assert result["non_canonical"] >= 1
    assert sum(result["kinds"].values()) == STEPS  # a vote every round, each accepted
    assert result["snapshots_verified"] == STEPS - 1  # resynced and verified after every round
    assert len(result["update_counts"]) == STEPS
    assert result["tensors"][-1] == "optimizer/velocity"
    assert all(name.startswith("param/") for name in result["tensors"][:-1])
    assert summary["abstentions"] == 0 and summary["rejected"] == {"unauthenticated": 2}
