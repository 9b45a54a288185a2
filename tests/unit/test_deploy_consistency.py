"""compose.yaml and k8s/ start the same entry points with the same settings (docs/design.md Sec. 5).

Three tiers, all without Docker or a cluster:
- text checks (always): every ELECTION_* variable the deployment files set is read by the code
  (a TrainConfig field, a service flag, or a container script), so a typo cannot hide;
- structure checks (need PyYAML; skipped without it): roles, settings and defaults, slot
  layout, volumes, GPU and TLS overlays agree between compose and the rendered kustomizations
  (k8s rendered with scripts/render_k8s.py);
- the container scripts themselves: docker/entrypoint.sh maps pod ordinals to slots, and
  docker/healthcheck.py speaks the real gRPC health protocol.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILES = ["compose.yaml", "compose.gpu.yaml", "compose.tls.yaml", "compose.shards.yaml"]
K8S_FILES = sorted((ROOT / "k8s").rglob("*.yaml"))
# Variables read by the container scripts or used only inside the manifests, not by Python code.
CONTAINER_VARS = {
    "ELECTION_SLOT_BASE",  # entrypoint.sh: slot = base + pod index
    "ELECTION_POD_INDEX",  # entrypoint.sh: the StatefulSet pod-index label
    "ELECTION_SLOT_FROM_HOSTNAME",  # entrypoint.sh: ordinal from the pod name
    "ELECTION_HEALTH_ADDRESS",  # healthcheck.py
    "ELECTION_HEALTH_SERVER_NAME",  # healthcheck.py (TLS)
    "ELECTION_ADVERSARY_SLOT_BASE",  # ConfigMap key -> the adversaries' ELECTION_SLOT_BASE
}
ENV_KEY = re.compile(r"^\s*(?:-\s*name:\s*)?(ELECTION_[A-Z0-9_]+)\s*:?", re.MULTILINE)


def env_keys(text: str) -> set[str]:
    """ELECTION_* names set as environment keys (not compose's ${...} substitutions)."""
    return {m.group(1) for m in ENV_KEY.finditer(text)}


def names_read_by_code() -> set[str]:
    from adversary.config import AdversaryConfig
    from election.config import FIELD_TYPES
    from master.config import MasterConfig
    from wire.flags import settings_of
    from worker.config import WorkerConfig

    names = {f"ELECTION_{field.upper()}" for field in FIELD_TYPES}
    for role in (MasterConfig, WorkerConfig, AdversaryConfig):  # generated from the fields
        names |= {s.env for s in settings_of(role)}
    for package in ("election", "master", "worker", "adversary", "wire"):
        for path in (ROOT / package).rglob("*.py"):
            names |= set(re.findall(r"\"(ELECTION_[A-Z0-9_]+)\"", path.read_text()))
    from wire.flags import RETIRED_VARIABLES  # named in the code only to refuse them

    return (names | CONTAINER_VARS) - set(RETIRED_VARIABLES)


@pytest.mark.parametrize("name", COMPOSE_FILES + [str(p.relative_to(ROOT)) for p in K8S_FILES])
def test_every_election_variable_a_deployment_file_sets_is_read_by_the_code(name: str) -> None:
    unknown = env_keys((ROOT / name).read_text()) - names_read_by_code()
    assert not unknown, f"{name} sets variables nothing reads: {sorted(unknown)}"


def test_container_scripts_and_every_package_are_in_the_image_build_context() -> None:
    ignore = (ROOT / ".dockerignore").read_text().split()
    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"
    ]["find"]["include"]
    packages = [f"!{pattern.rstrip('*')}" for pattern in include]  # "election_cli*" -> folder
    assert "!election_cli" in packages
    for needed in ("!docker/*.sh", "!docker/*.py", *packages):
        assert needed in ignore, f".dockerignore must keep {needed[1:]} in the context"


# --- structure (PyYAML) ----------------------------------------------------------------------


def load_yaml(path: Path) -> Any:
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load(path.read_text())


def default_of(value: Any) -> str:
    """Compose's ``${NAME:-default}`` -> default; plain values unchanged."""
    text = str(value)
    m = re.fullmatch(r"\$\{[A-Z0-9_]+:-(.*)\}", text)
    return m.group(1) if m else text


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(load_yaml(ROOT / "compose.yaml")["services"])


def rendered(overlay: str) -> dict[tuple[str, str], dict[str, Any]]:
    pytest.importorskip("yaml")
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import render_k8s
    finally:
        sys.path.pop(0)
    objects = render_k8s.render(ROOT / "k8s" / overlay)
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


@pytest.fixture(scope="module")
def k8s() -> dict[tuple[str, str], dict[str, Any]]:
    return rendered("base")


def pod(obj: dict[str, Any]) -> dict[str, Any]:
    return dict(obj["spec"]["template"]["spec"])


def container_env(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        e["name"]: e.get("value", e.get("valueFrom"))
        for e in pod(obj)["containers"][0].get("env", [])
    }


ROLES = {  # compose services -> k8s StatefulSet
    "master": "election-master",
    "worker-0": "election-worker",
    "adversary": "election-adversary",
}


@pytest.mark.parametrize(("service", "statefulset"), ROLES.items())
def test_compose_and_kubernetes_start_the_same_role_entry_points(
    compose: dict[str, Any], k8s: dict[tuple[str, str], Any], service: str, statefulset: str
) -> None:
    k8s_args = pod(k8s[("StatefulSet", statefulset)])["containers"][0]["args"]
    assert compose[service]["command"] == k8s_args


def test_master_settings_and_defaults_match_the_configmap(
    compose: dict[str, Any], k8s: dict[tuple[str, str], Any]
) -> None:
    master_env = {k: default_of(v) for k, v in compose["master"]["environment"].items()}
    config = k8s[("ConfigMap", "election-config")]["data"]
    shared = set(master_env) & set(config)
    assert {"ELECTION_N", "ELECTION_B", "ELECTION_CODE", "ELECTION_ATTACK"} <= shared
    assert {k: master_env[k] for k in shared} == {k: str(config[k]) for k in shared}
    only_compose = set(master_env) - set(config)
    assert not only_compose, f"master settings missing from the ConfigMap: {sorted(only_compose)}"


def test_worker_and_adversary_counts_and_slots_agree_with_n_and_b(
    compose: dict[str, Any], k8s: dict[tuple[str, str], Any]
) -> None:
    config = k8s[("ConfigMap", "election-config")]["data"]
    n, b = int(config["ELECTION_N"]), int(config["ELECTION_B"])
    workers = int(k8s[("StatefulSet", "election-worker")]["spec"]["replicas"])
    adversaries = int(k8s[("StatefulSet", "election-adversary")]["spec"]["replicas"])
    assert (workers + adversaries, adversaries) == (n, b)
    adversary_slots = [int(config["ELECTION_ADVERSARY_SLOT_BASE"]) + k for k in range(b)]
    assert ",".join(map(str, adversary_slots)) == config["ELECTION_BYZANTINE_SELECT"]

    slots = {
        name: int(default_of(svc["environment"]["ELECTION_SLOT"]))
        for name, svc in compose.items()
        if "profiles" not in svc and name != "master"
    }
    assert sorted(slots.values()) == list(range(n))  # each slot exactly once
    assert [slots["adversary"]] == adversary_slots
    master_env = compose["master"]["environment"]
    assert default_of(master_env["ELECTION_BYZANTINE_SELECT"]) == str(slots["adversary"])


def test_master_keeps_runs_checkpoints_and_data_on_volumes_in_both(
    compose: dict[str, Any], k8s: dict[tuple[str, str], Any]
) -> None:
    wanted = {"/var/lib/election/runs", "/var/lib/election/checkpoints", "/var/lib/election/data"}
    compose_targets = {v.split(":")[1] for v in compose["master"]["volumes"]}
    mounts = pod(k8s[("StatefulSet", "election-master")])["containers"][0]["volumeMounts"]
    assert wanted <= compose_targets
    assert wanted <= {m["mountPath"] for m in mounts}


def test_master_probes_use_the_grpc_health_service_on_the_service_port(
    k8s: dict[tuple[str, str], Any],
) -> None:
    container = pod(k8s[("StatefulSet", "election-master")])["containers"][0]
    port = int(k8s[("ConfigMap", "election-config")]["data"]["ELECTION_PORT"])
    assert container["readinessProbe"]["grpc"]["port"] == port
    assert container["livenessProbe"]["grpc"]["port"] == port


def test_gpu_overlays_put_one_gpu_on_every_worker_and_adversary_and_none_on_the_master() -> None:
    gpu_compose = load_yaml(ROOT / "compose.gpu.yaml")["services"]
    gpu_k8s = rendered("overlays/gpu")
    for service, statefulset in (
        ("worker-0", "election-worker"),
        ("adversary", "election-adversary"),
    ):
        devices = gpu_compose[service]["deploy"]["resources"]["reservations"]["devices"]
        assert devices[0]["driver"] == "nvidia" and devices[0]["count"] == 1
        spec = pod(gpu_k8s[("StatefulSet", statefulset)])
        assert spec["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1
        assert spec["containers"][0]["image"].endswith(":cuda")
        assert any(t["key"] == "nvidia.com/gpu" for t in spec["tolerations"])
    assert "deploy" not in gpu_compose["master"]
    master = pod(gpu_k8s[("StatefulSet", "election-master")])["containers"][0]
    assert "nvidia.com/gpu" not in master["resources"].get("limits", {})


def test_tls_overlays_give_the_same_tls_variables_to_the_same_roles() -> None:
    tls_compose = load_yaml(ROOT / "compose.tls.yaml")["services"]
    tls_k8s = rendered("overlays/tls")
    for service, statefulset in ROLES.items():
        compose_keys = {k for k in tls_compose[service]["environment"] if "TLS" in k}
        k8s_keys = {k for k in container_env(tls_k8s[("StatefulSet", statefulset)]) if "TLS" in k}
        assert compose_keys == k8s_keys and compose_keys, service
    probe = pod(tls_k8s[("StatefulSet", "election-master")])["containers"][0]["readinessProbe"]
    assert "grpc" not in probe and probe["exec"]["command"] == ["election-healthcheck"]


# --- the container scripts -------------------------------------------------------------------


@pytest.fixture
def fake_election(tmp_path: Path) -> Path:
    """A stand-in `election` on PATH that prints its arguments and ELECTION_SLOT."""
    script = tmp_path / "election"
    script.write_text('#!/bin/sh\necho "args=$* slot=${ELECTION_SLOT:-unset}"\n')
    script.chmod(0o755)
    return tmp_path


def entrypoint(bin_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ELECTION_")}
    clean["PATH"] = f"{bin_dir}:{clean['PATH']}"
    return subprocess.run(
        ["sh", str(ROOT / "docker" / "entrypoint.sh"), *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=10,
    )


@pytest.mark.parametrize(
    ("env", "slot"),
    [
        ({"ELECTION_POD_INDEX": "2"}, "2"),  # worker StatefulSet: ordinal = slot
        ({"ELECTION_POD_INDEX": "0", "ELECTION_SLOT_BASE": "4"}, "4"),  # adversary after workers
        ({"ELECTION_SLOT": "3", "ELECTION_POD_INDEX": "1"}, "3"),  # explicit slot wins
        (
            {
                "ELECTION_POD_INDEX": "",
                "ELECTION_SLOT_FROM_HOSTNAME": "1",
                "HOSTNAME": "election-worker-3",
            },
            "3",
        ),  # Kubernetes before 1.28: ordinal from the pod name
        ({}, "unset"),  # compose without a slot: the worker's own default
    ],
)
def test_entrypoint_turns_the_pod_ordinal_into_the_slot(
    fake_election: Path, env: dict[str, str], slot: str
) -> None:
    out = entrypoint(fake_election, "worker", "--json", **env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"args=worker --json slot={slot}"


def test_entrypoint_rejects_a_pod_index_that_is_not_a_number(fake_election: Path) -> None:
    out = entrypoint(fake_election, "adversary", ELECTION_POD_INDEX="x1")
    assert out.returncode == 2 and "not a number" in out.stderr


def test_entrypoint_runs_programs_as_is_and_subcommands_through_election(
    fake_election: Path,
) -> None:
    assert entrypoint(fake_election, "echo", "hi").stdout.strip() == "hi"
    assert (
        entrypoint(fake_election, "train", "--json").stdout.strip()
        == "args=train --json slot=unset"
    )
    assert entrypoint(fake_election).stdout.strip() == "args=--help slot=unset"


@pytest.fixture
def health_server() -> Iterator[tuple[str, Any]]:
    grpc = pytest.importorskip("grpc")
    health = pytest.importorskip("grpc_health.v1.health")
    from concurrent import futures

    from grpc_health.v1 import health_pb2, health_pb2_grpc

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    try:
        yield f"127.0.0.1:{port}", servicer
    finally:
        server.stop(0)


def healthcheck(address: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ELECTION_")}
    env["ELECTION_HEALTH_ADDRESS"] = address
    return subprocess.run(
        [sys.executable, str(ROOT / "docker" / "healthcheck.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_healthcheck_passes_while_the_master_serves_and_fails_when_it_stops(
    health_server: tuple[str, Any],
) -> None:
    from grpc_health.v1 import health_pb2

    address, servicer = health_server
    assert healthcheck(address).returncode == 0
    servicer.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
    assert healthcheck(address).returncode == 1


def test_healthcheck_fails_when_nothing_listens_and_passes_when_disabled() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]  # closed again: nothing listens there
    out = healthcheck(f"127.0.0.1:{free}")
    assert out.returncode == 1 and "unhealthy" in out.stderr
    assert healthcheck("none").returncode == 0


def test_the_compose_master_environment_selects_the_decoder(compose: dict[str, Any]) -> None:
    """ELECTION_DECODER / ELECTION_QUORUM reach the master's TrainConfig (its env layer)."""
    from election.config import build_config

    env = {k: default_of(v) for k, v in compose["master"]["environment"].items()}
    assert build_config(env=env).decoder == "auto"
    cfg = build_config(env=env | {"ELECTION_DECODER": "quorum", "ELECTION_QUORUM": "2"})
    assert (cfg.decoder, cfg.quorum, cfg.quorum_q) == ("quorum", 2, 2)
