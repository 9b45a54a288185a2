"""One typed config per service role: flags and ELECTION_* variables generated from its fields,
every default written once, documented, and nothing deep in the code reading the environment."""

from __future__ import annotations

import argparse
import dataclasses
import re
from pathlib import Path

import pytest

from adversary.config import AdversaryConfig
from election.errors import ConfigError
from election.transport.base import ROUND_DEADLINE_S, UPDATE_WAIT_S
from election_cli import main as cli
from master.config import MasterConfig
from master.rounds import RoundState
from wire.flags import add_settings, config_from, settings_of
from worker.config import WorkerConfig

REPO = Path(__file__).resolve().parents[2]
ROLES = (MasterConfig, WorkerConfig, AdversaryConfig)
# the entry points, which alone may hand os.environ to the code (wire.flags docstring)
ENTRY_POINTS = ("election_cli/", "master/cli.py", "worker/cli.py", "adversary/cli.py")
READS_ENV = re.compile(r"os\.getenv|os\.environ\.get|os\.environ\[[^\]]*\](?!\s*=)")


def parse(config_class: type, argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_settings(parser, settings_of(config_class))
    return parser.parse_args(argv)


@pytest.mark.parametrize("role", ROLES, ids=lambda c: c.__name__)
def test_every_field_of_a_role_is_a_setting_with_its_default(role: type) -> None:
    settings = {s.dest: s for s in settings_of(role)}
    for f in dataclasses.fields(role):
        assert f.name in settings, f"{role.__name__}.{f.name} has no flag"
        default = f.default_factory() if f.default is dataclasses.MISSING else f.default  # type: ignore[misc]
        assert settings[f.name].default == default
        assert settings[f.name].env.startswith("ELECTION_") or settings[f.name].env == "HOSTNAME"
    assert role() == config_from(role, parse(role, []), {})  # nothing given: the defaults


@pytest.mark.parametrize("role", ROLES, ids=lambda c: c.__name__)
def test_docs_list_every_setting_with_its_variable(role: type) -> None:
    text = (REPO / "docs/grpc.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| `--")]
    for s in settings_of(role):
        row = [r for r in rows if f"`{s.flag}`" in r.split("|")[1]]
        assert row, f"docs/grpc.md has no row for {s.flag}"
        assert any(f"`{s.env}`" in r for r in row), f"docs/grpc.md: {s.flag} without `{s.env}`"


def test_flag_beats_variable_beats_fallback_beats_default() -> None:
    env = {"ELECTION_WORKER_NAME": "from-env", "HOSTNAME": "host-7"}
    assert config_from(WorkerConfig, parse(WorkerConfig, ["--name", "flag"]), env).name == "flag"
    assert config_from(WorkerConfig, parse(WorkerConfig, []), env).name == "from-env"
    assert config_from(WorkerConfig, parse(WorkerConfig, []), {"HOSTNAME": "h"}).name == "h"
    assert config_from(WorkerConfig, parse(WorkerConfig, []), {}).name == ""
    data = config_from(WorkerConfig, parse(WorkerConfig, []), {"ELECTION_DATA_ROOT": "/d"})
    assert data.data_dir == "/d"
    typed = config_from(MasterConfig, parse(MasterConfig, []), {"ELECTION_ROUND_DEADLINE": "7.5"})
    assert typed.round_deadline_s == 7.5


def test_bad_values_are_one_line_config_errors() -> None:
    with pytest.raises(ConfigError, match="ELECTION_POLL_TIMEOUT='0'"):
        config_from(WorkerConfig, parse(WorkerConfig, []), {"ELECTION_POLL_TIMEOUT": "0"})
    with pytest.raises(ConfigError, match="--fault='nope'"):
        config_from(AdversaryConfig, parse(AdversaryConfig, ["--fault", "nope"]), {})


def test_the_master_deadline_and_the_worker_poll_are_distinct_settings() -> None:
    master = {s.env: s for s in settings_of(MasterConfig)}
    worker = {s.env: s for s in settings_of(WorkerConfig)}
    assert master["ELECTION_ROUND_DEADLINE"].default == ROUND_DEADLINE_S
    assert worker["ELECTION_POLL_TIMEOUT"].default == UPDATE_WAIT_S
    assert "ELECTION_ROUND_DEADLINE" not in worker and "ELECTION_POLL_TIMEOUT" not in master


def test_round_state_has_no_defaults_of_its_own() -> None:
    import inspect

    params = inspect.signature(RoundState).parameters
    for name in ("round_deadline_s", "startup_timeout_s"):
        assert params[name].default is inspect.Parameter.empty


@pytest.mark.parametrize("role", ["master", "worker", "adversary"])
def test_a_retired_variable_is_refused_in_one_line(
    role: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ELECTION_ROUND_TIMEOUT", "60")
    assert cli.main([role]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        len(err) == 1 and "ELECTION_ROUND_DEADLINE" in err[0] and "ELECTION_POLL_TIMEOUT" in err[0]
    )


def test_nothing_below_the_entry_points_reads_the_environment() -> None:
    offenders = []
    for package in ("election", "master", "worker", "adversary", "wire"):
        for path in sorted((REPO / package).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            if rel.startswith(ENTRY_POINTS) or "/gen/" in rel:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                code = line.split("#", 1)[0]
                if READS_ENV.search(code) and "``" not in code:
                    offenders.append(f"{rel}:{number}: {line.strip()}")
    assert not offenders, offenders
