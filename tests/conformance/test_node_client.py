"""Conformance: a client that shares no code with the project drives a real master.

``node_client.cjs`` is written from ``proto/election/v1/election.proto`` and
``docs/vote_layout.md`` alone: Node.js with ``@grpc/grpc-js`` and ``@grpc/proto-loader``
loading the .proto at run time. It takes the Byzantine slot of a real local cluster (a master
and four Python workers, deterministic code n = 5, b = 1) and goes through Join, valid votes in
every zero encoding (a non-canonical one included), GetUpdate with the packed update decoded,
GetSnapshot resync with the digest recomputed from the snapshot's param tensors every round,
and the final state; the final model must equal the in-process run.

The two npm packages are pinned by ``package.json`` and ``package-lock.json`` beside this file
and installed with ``npm ci`` on first use (and whenever the lock changes) into the cache
``build/node-conformance``. The test is skipped, saying why, only when node/npm are missing or
the registry is unreachable, and never when ``ELECTION_REQUIRE_CONFORMANCE=1`` (``.ci/run``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from election.training.setup import build_code
from master.cluster import REPO_ROOT, LocalCluster
from tests.integration.grpc_helpers import reference_sha, small_config

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent
NODE_DIR = REPO_ROOT / "build" / "node-conformance"  # the cache: package files + node_modules
PINS = ("package.json", "package-lock.json")  # the pinned @grpc/grpc-js and @grpc/proto-loader
NETWORK_ERRORS = ("ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNREFUSED", "ECONNRESET", "network")
NPM_TIMEOUT_S = 600
STEPS = 12
RUN_TIMEOUT_S = 300.0


def skip_or_fail(why: str) -> None:
    """Skip, unless CI requires the conformance tier (ELECTION_REQUIRE_CONFORMANCE=1)."""
    if os.environ.get("ELECTION_REQUIRE_CONFORMANCE") == "1":
        pytest.fail(f"{why} (ELECTION_REQUIRE_CONFORMANCE=1)")
    pytest.skip(why)


def node_modules() -> Path:
    """``npm ci`` the pinned packages into build/node-conformance unless the cache is current."""
    npm = shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        skip_or_fail("node and npm are needed for the conformance client")
    assert npm is not None
    modules = NODE_DIR / "node_modules"
    pins = {name: (HERE / name).read_text() for name in PINS}
    current = all(
        (NODE_DIR / name).is_file() and (NODE_DIR / name).read_text() == text
        for name, text in pins.items()
    )
    if current and (modules / "@grpc" / "grpc-js").is_dir():
        return modules
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    for name, text in pins.items():
        (NODE_DIR / name).write_text(text)
    proc = subprocess.run(
        [npm, "ci", "--prefix", str(NODE_DIR), "--no-audit", "--no-fund", "--ignore-scripts"],
        capture_output=True,
        text=True,
        timeout=NPM_TIMEOUT_S,
    )
    if proc.returncode != 0:
        (NODE_DIR / PINS[1]).unlink(missing_ok=True)  # not current: try again next time
        if any(e in proc.stderr for e in NETWORK_ERRORS):
            skip_or_fail(f"the npm registry is unreachable: {proc.stderr.strip()[-300:]}")
        raise AssertionError(f"npm ci failed:\n{proc.stderr[-3000:]}")
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
    row = np.asarray(build_code(cfg).matrix)[byzantine]  # JoinResponse.partitions: G's row
    assert result["partitions"] == [int(i) for i in np.flatnonzero(row)]
    assert result["tensors"][-1] == "optimizer/velocity"
    assert all(name.startswith("param/") for name in result["tensors"][:-1])
    assert summary["abstentions"] == 0 and summary["rejected"] == {"unauthenticated": 2}
