"""Run folders are claimed atomically: runs started at once never share or lose a folder."""

from __future__ import annotations

import threading
from pathlib import Path

from election.training.runs import new_run_dir

STARTED_AT_ONCE = 16  # threads racing for the same run name


def test_runs_started_at_once_get_distinct_folders(tmp_path: Path) -> None:
    barrier = threading.Barrier(STARTED_AT_ONCE)
    got: list[Path] = []
    errors: list[BaseException] = []

    def claim() -> None:
        barrier.wait()
        try:
            got.append(new_run_dir(str(tmp_path / "runs"), "majority-5"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=claim) for _ in range(STARTED_AT_ONCE)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    names = sorted(p.name for p in got)
    assert len(set(names)) == STARTED_AT_ONCE
    expected = ["majority-5", *(f"majority-5-{k}" for k in range(2, STARTED_AT_ONCE + 1))]
    assert names == sorted(expected)
    assert all(p.is_dir() for p in got)


def test_an_existing_folder_is_never_reused(tmp_path: Path) -> None:
    first = new_run_dir(str(tmp_path), "run")
    (first / "summary.json").write_text("{}")
    second = new_run_dir(str(tmp_path), "run")
    assert second != first and second.name == "run-2"
    assert (first / "summary.json").read_text() == "{}"
