"""End to end with real containers: compose.yaml (and its mTLS overlay) against the in-process run.

Skipped unless ``ELECTION_E2E_DOCKER=1``. Needs a running Docker engine, docker-compose (v1) or
``docker compose`` (v2), and the image ``$ELECTION_IMAGE`` (default ``election-coding:cpu``) built
from docker/Dockerfile; ``scripts/e2e-docker.sh`` provides all three and then runs this file.

The reference is ``election train --json`` run inside the same image with the same
ELECTION_* settings, so torch versions match: the master's summary.json must report every
round completed and the same final ``model_sha256`` (docs/design.md Sec. 3: every transport gives
the same model; Sec. 9: a deterministic code makes the b = 1 reverse attack harmless).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    os.environ.get("ELECTION_E2E_DOCKER") != "1", reason="set ELECTION_E2E_DOCKER=1 (needs Docker)"
)

ROOT = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("ELECTION_IMAGE", "election-coding:cpu")
STEPS = int(os.environ.get("E2E_STEPS", "20"))  # rounds of the plain scenario
TLS_STEPS = int(os.environ.get("E2E_TLS_STEPS", "5"))  # rounds of the mTLS scenario
SHARD_STEPS = int(os.environ.get("E2E_SHARD_STEPS", "5"))  # rounds of the two-shard scenario
TIMEOUT_S = 600
# The scenario: paper Fig. 4 setting on the embedded dataset; the adversary holds slot 4.
SETTINGS = {
    "ELECTION_DATASET": "digits",
    "ELECTION_N": "5",
    "ELECTION_B": "1",
    "ELECTION_CODE": "deterministic",
    "ELECTION_ATTACK": "reverse",
    "ELECTION_BYZANTINE_SELECT": "4",
    "ELECTION_ADVERSARY_SLOT": "4",
    "ELECTION_SEED": "0",
    "ELECTION_NUM_TRAIN": "0",
}


def compose_cmd() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return ["docker", "compose"]


def run(args: list[str], *, env: dict[str, str] | None = None, timeout: float = TIMEOUT_S) -> str:
    proc = subprocess.run(
        args,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        tail = f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        raise AssertionError(f"{' '.join(args)} exited {proc.returncode}\n{tail}")
    return proc.stdout


class Project:
    """One compose project (unique name), torn down with its volumes afterwards."""

    def __init__(self, files: list[str], steps: int) -> None:
        self.name = f"election-test-{uuid.uuid4().hex[:8]}"
        self.base = [*compose_cmd(), "-p", self.name]
        for f in files:
            self.base += ["-f", f]
        self.env = {**SETTINGS, "ELECTION_IMAGE": IMAGE, "ELECTION_STEPS": str(steps)}

    def __call__(self, *args: str) -> str:
        return run([*self.base, *args], env=self.env)

    def summary(self) -> dict[str, object]:
        text = run(
            ["docker", "run", "--rm", "-v", f"{self.name}_runs:/runs:ro", IMAGE,
             "sh", "-c", "cat /runs/*/summary.json"]
        )  # fmt: skip
        return dict(json.loads(text))

    def down(self) -> None:
        subprocess.run(
            [*self.base, "down", "-v", "--remove-orphans"],
            cwd=ROOT,
            env={**os.environ, **self.env},
            capture_output=True,
            timeout=120,
        )


@pytest.fixture
def project(request: pytest.FixtureRequest) -> Iterator[Project]:
    files, steps = request.param
    p = Project(files, steps)
    try:
        yield p
    finally:
        p.down()


def reference_sha(steps: int) -> str:
    """model_sha256 of the in-process run with the same settings, in the same image."""
    env_flags = [a for k, v in SETTINGS.items() for a in ("-e", f"{k}={v}")]
    out = run(
        ["docker", "run", "--rm", *env_flags, "-e", f"ELECTION_STEPS={steps}",
         "-e", "ELECTION_RUNS_DIR=/tmp/runs", IMAGE, "train", "--json"]
    )  # fmt: skip
    return str(json.loads(out)["model_sha256"])


@pytest.mark.parametrize(
    "files",
    [
        ["compose.yaml"],
        ["compose.yaml", "compose.gpu.yaml"],
        ["compose.yaml", "compose.tls.yaml"],
        ["compose.yaml", "compose.gpu.yaml", "compose.tls.yaml"],
        ["compose.yaml", "compose.shards.yaml"],
        ["compose.yaml", "compose.gpu.yaml", "compose.shards.yaml"],
    ],
)
def test_compose_config_is_valid_for_every_overlay_combination(files: list[str]) -> None:
    args = [*compose_cmd()]
    for f in files:
        args += ["-f", f]
    run([*args, "config", "-q"])


def test_image_runs_as_non_root_and_imports_every_service_package() -> None:
    assert run(["docker", "run", "--rm", IMAGE, "id", "-u"]).strip() == "10001"
    run(["docker", "run", "--rm", IMAGE, "python", "-c", "import election, master, worker, wire"])


@pytest.mark.parametrize("project", [(["compose.yaml"], STEPS)], indirect=True)
def test_compose_run_completes_and_matches_the_in_process_model(project: Project) -> None:
    project("up", "--no-build", "--exit-code-from", "master")
    summary = project.summary()
    assert summary["status"] == "completed"
    assert summary["steps"] == STEPS
    assert summary["transport"] == "grpc"
    assert summary["byzantine"] == [4]
    assert summary["model_sha256"] == reference_sha(STEPS)


@pytest.mark.parametrize(
    "project", [(["compose.yaml", "compose.shards.yaml"], SHARD_STEPS)], indirect=True
)
def test_two_master_shards_train_the_model_of_one_master(project: Project) -> None:
    project("up", "--no-build", "--exit-code-from", "master")
    summary = project.summary()  # shard 0's run folder; shard 1's lies under runs/shard1/
    assert summary["status"] == "completed"
    assert summary["steps"] == SHARD_STEPS
    assert (summary["master_shards"], summary["shard"]) == (2, 0)
    assert summary["model_sha256"] == reference_sha(SHARD_STEPS)


@pytest.mark.parametrize(
    "project", [(["compose.yaml", "compose.tls.yaml"], TLS_STEPS)], indirect=True
)
def test_mtls_overlay_run_completes_with_a_healthy_master_and_the_same_model(
    project: Project,
) -> None:
    project("up", "--no-build", "-d")
    master = project("ps", "-q", "master").strip()
    exit_code = run(["docker", "wait", master]).strip()
    assert exit_code == "0", project("logs", "--tail", "30")
    health = json.loads(run(["docker", "inspect", "-f", "{{json .State.Health.Log}}", master]))
    assert any(e["ExitCode"] == 0 and "SERVING" in e["Output"] for e in health or [])
    summary = project.summary()
    assert summary["status"] == "completed"
    assert summary["steps"] == TLS_STEPS
    assert summary["model_sha256"] == reference_sha(TLS_STEPS)
