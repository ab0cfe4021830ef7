"""Concurrent runs on one simulated organization: a lock file around each change."""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from pathlib import Path

import pytest
from connector_runbooks.errors import RunbookError
from connector_runbooks.simulated import Organization
from connector_runbooks.simulated import state as state_module
from connector_runbooks.simulated.state import lock_path, locked, save_state

RELAY = "EX01\\Relay Scanners"
EDITS = 20


def _add_ranges(path: str, worker: int, start: multiprocessing.synchronize.Event) -> None:
    """One run: EDITS separate Set-ReceiveConnector calls, each adding one entry."""
    organization = Organization(path)
    start.wait()
    for edit in range(EDITS):
        result = organization.execute("Set-ReceiveConnector", {
            "Identity": RELAY, "RemoteIPRanges": {"Add": f"10.99.{worker}.{edit + 1}"}})
        assert not result.errors, result.errors


def _ranges(path: Path) -> list[str]:
    record = Organization(path).execute("Get-ReceiveConnector", {"Identity": RELAY})
    return list(record.output[0].properties["RemoteIPRanges"].values)


def test_two_processes_editing_one_connector_lose_no_change(tmp_path):
    path = tmp_path / "organization.json"
    before = _ranges(path)
    start = multiprocessing.Event()
    runs = [multiprocessing.Process(target=_add_ranges, args=(str(path), worker, start))
            for worker in (1, 2)]
    for run in runs:
        run.start()
    start.set()
    for run in runs:
        run.join(60)

    assert [run.exitcode for run in runs] == [0, 0]
    added = set(_ranges(path)) - set(before)
    assert added == {f"10.99.{w}.{e + 1}" for w in (1, 2) for e in range(EDITS)}
    assert not lock_path(path).exists()


def test_a_run_waits_for_the_lock_and_then_gives_up_with_a_clear_error(tmp_path):
    path = tmp_path / "organization.json"
    lock_path(path).write_text("4242 other-host\n")

    started = time.monotonic()
    with (pytest.raises(RunbookError, match="another run is changing the simulated"),
          locked(path, timeout=0.2)):
        pass

    assert time.monotonic() - started >= 0.2
    assert lock_path(path).exists()  # someone else's lock is left alone


def test_a_lock_left_by_a_run_that_died_is_broken_with_a_warning(tmp_path, caplog):
    path = tmp_path / "organization.json"
    lock = lock_path(path)
    lock.write_text("4242 other-host\n")
    old = time.time() - 120
    os.utime(lock, (old, old))
    caplog.set_level(logging.WARNING)

    with locked(path, timeout=0.2):
        held = lock.read_text()

    assert str(os.getpid()) in held
    assert "breaking the lock" in caplog.text
    assert not lock.exists()


def test_the_lock_is_released_when_the_change_fails(tmp_path):
    path = tmp_path / "organization.json"

    with pytest.raises(ValueError), locked(path):
        raise ValueError("the change failed")

    assert not lock_path(path).exists()


def test_a_state_file_held_open_for_a_moment_is_replaced_on_a_later_attempt(
    tmp_path, monkeypatch,
):
    """Windows refuses to replace a file an antivirus scanner holds open."""
    path = tmp_path / "organization.json"
    replace = os.replace
    attempts = []

    def held_open_twice(source, target):
        attempts.append(target)
        if len(attempts) <= 2:
            raise PermissionError(13, "Access is denied", str(target))
        return replace(source, target)

    monkeypatch.setattr(state_module.os, "replace", held_open_twice)
    monkeypatch.setattr(state_module.time, "sleep", lambda seconds: None)

    save_state(path, {"SchemaVersion": 1})

    assert len(attempts) == 3
    assert path.read_text().startswith("{")
    assert list(tmp_path.iterdir()) == [path]
