"""Every runbook, run unchanged against the loopback emulator, records what the in-process run
records.

Each runbook is run headless (papermill, through the runner) on two copies of one fresh
organization: once with ``target`` set to the emulator's address, once in-process. The two JSON
summaries must be equal once what differs by nature is taken out: moments and durations, record
names, the target, and the transcript's session facts (endpoint, pool ids, where the password
came from). The password reaches the runs only through the environment, as on a scheduler.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import datetime as dt
import logging
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest
from connector_runbooks import credentials
from connector_runbooks.emulator import Fault, serve
from connector_runbooks.records import load_summary
from connector_runbooks.runner import (
    RunResult,
    available_tasks,
    load_parameters,
    notebooks_dir,
    run,
)
from connector_runbooks.simulated.organization import reset_state

PARAMETERS = Path(__file__).resolve().parents[1] / "parameters"

RELAY_TASK = "receive-connector-ip-ranges"
RELAY_PARAMETERS = "add-two-entries.yaml"  # adds 10.20.1.201 and 10.20.8.0/29 to EX01's relay
RELAY_ADDED = ["10.20.1.201", "10.20.8.0/29"]

#: Keys whose values are moments or durations, wherever they appear in a summary.
MOMENTS = frozenset({"started", "finished", "duration_s", "checked_at"})


def comparable(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary without what differs by nature between a run over the emulator and one
    in-process: moments, durations, record name, target, transcript session facts."""
    data = _without_moments(copy.deepcopy(summary))
    del data["record"], data["target"]
    del data["parameters"]["target"]
    data["parameters"].pop("target_options", None)
    transcript = data["transcript"]
    assert isinstance(transcript, dict), "one shell per run"
    del transcript["session"], transcript["transport"]
    results = data["results"]
    if "csv_files" in results:
        # The CSV files lie in a folder named after the record.
        results["csv_files"] = [Path(path).name for path in results["csv_files"]]
    return data


def _without_moments(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_moments(v) for k, v in value.items() if k not in MOMENTS}
    if isinstance(value, list):
        return [_without_moments(v) for v in value]
    return value


def summary_of(result: RunResult) -> dict[str, Any]:
    return load_summary(result.summary)


def calls(summary: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["cmdlet"], e["outcome"]) for e in summary["transcript"]["entries"]]


def failing_steps(notebook: Path) -> list[str]:
    """The headings of the steps whose code cells show an error."""
    heading, failing = "", []
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type == "markdown" and cell.source.startswith("## "):
            heading = cell.source.splitlines()[0][3:].strip()
        elif cell.cell_type == "code" and any(
            output.get("output_type") == "error" for output in cell.get("outputs", [])
        ):
            failing.append(heading)
    return failing


def ntlm_options(user: str) -> dict[str, str]:
    return {"auth": "ntlm", "username": user}


def relay_parameters() -> dict[str, Any]:
    return load_parameters(PARAMETERS / RELAY_PARAMETERS)


def apply_relay_over_ntlm(emulator: Any, user: str, folder: Path) -> RunResult:
    """The relay runbook's example change, applied over the emulator as ``user``."""
    return run(RELAY_TASK, {**relay_parameters(), "target": emulator.url,
                            "target_options": ntlm_options(user)}, apply=True, folder=folder)


# ---------------------------------------------------------------------------------------------
# The relay IP ranges runbook over NTLM with message encryption: plan, then apply, run once for
# the module with every log at DEBUG, so the tests below look at the same four records.


@dataclass
class RelayRuns:
    """Plan and apply of the relay runbook, over the emulator and in-process.

    Args:
        folder: holds every file the runs produced, records and logs.
        password: the throwaway password of the emulator's account.
        user: the emulator's account.
        logs: the DEBUG logs of the test process and of the notebook kernels.
    """

    folder: Path
    password: str
    user: str
    over_the_emulator: dict[str, RunResult] = field(default_factory=dict)
    in_process: dict[str, RunResult] = field(default_factory=dict)
    logs: list[Path] = field(default_factory=list)


@contextlib.contextmanager
def debug_log_of_this_process(path: Path) -> Iterator[None]:
    """Every log line of the test process (runner, papermill, emulator) at DEBUG, into ``path``."""
    root = logging.getLogger()
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


def kernels_log_at_debug(ipython_dir: Path, path: Path) -> Path:
    """An IPython folder whose start-up script sends every log line of a kernel at DEBUG (the
    library's, pypsrp's, pyspnego's, urllib3's) into ``path``; kernels find it through
    IPYTHONDIR, which they inherit."""
    startup = ipython_dir / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-debug-log.py").write_text(
        "import logging\n"
        f"logging.basicConfig(filename={str(path)!r}, level=logging.DEBUG, force=True,\n"
        "                    format='%(levelname)s %(name)s: %(message)s')\n",
        encoding="utf-8",
    )
    return ipython_dir


def twin_states(folder: Path) -> tuple[Path, Path]:
    """Two identical fresh demo organizations: one to serve, one to run in-process."""
    served, local = folder / "served.json", folder / "in-process.json"
    reset_state(served)
    shutil.copy(served, local)
    return served, local


@pytest.fixture(scope="module")
def relay_runs(tmp_path_factory: pytest.TempPathFactory, emulator_user: str) -> RelayRuns:
    folder = tmp_path_factory.mktemp("relay-over-ntlm")
    runs = RelayRuns(folder, password="Relay-Pw-" + secrets.token_hex(10), user=emulator_user)
    served, local = twin_states(folder)
    logs = folder / "logs"
    logs.mkdir()
    runs.logs = [logs / "test-process.log", logs / "kernels.log"]
    parameters = relay_parameters()

    with pytest.MonkeyPatch.context() as patch, debug_log_of_this_process(runs.logs[0]):
        patch.setenv(credentials.PASSWORD_ENV, runs.password)
        patch.setattr(credentials, "can_prompt", lambda: False)
        patch.setenv("IPYTHONDIR", str(kernels_log_at_debug(folder / "ipython", runs.logs[1])))
        with serve(port=0, auth=("ntlm",), users={runs.user: runs.password},
                   state_path=served) as emulator:
            remote = {"target": emulator.url, "target_options": ntlm_options(runs.user)}
            for step, apply in (("plan", False), ("apply", True)):
                runs.over_the_emulator[step] = run(
                    RELAY_TASK, {**parameters, **remote}, apply=apply,
                    folder=folder / "records-over-the-emulator" / step)
        for step, apply in (("plan", False), ("apply", True)):
            runs.in_process[step] = run(
                RELAY_TASK, {**parameters, "target": f"simulated:{local}"}, apply=apply,
                folder=folder / "records-in-process" / step)
    return runs


@pytest.mark.parametrize("step, outcome", [("plan", "planned"), ("apply", "applied")])
def test_the_relay_runbook_over_ntlm_records_what_the_in_process_run_records(
    relay_runs: RelayRuns, step: str, outcome: str
) -> None:
    remote = summary_of(relay_runs.over_the_emulator[step])
    local = summary_of(relay_runs.in_process[step])

    assert relay_runs.over_the_emulator[step].exit_code == 0 and remote["outcome"] == outcome
    assert remote["plan"]["add"] == RELAY_ADDED
    session = remote["transcript"]["session"]
    assert (session["auth"], session["encryption"]) == ("ntlm", "message")
    assert comparable(remote) == comparable(local)


def test_an_applied_run_uses_one_runspace_pool_and_one_read_one_write_one_verifying_read(
    relay_runs: RelayRuns,
) -> None:
    remote = summary_of(relay_runs.over_the_emulator["apply"])

    assert len(remote["transcript"]["session"]["runspace_pools"]) == 1
    assert [call for call in calls(remote) if call[0] != "Get-ExchangeServer"] == [
        ("Get-ReceiveConnector", "ok"),
        ("Set-ReceiveConnector", "ok"),
        ("Get-ReceiveConnector", "ok"),
    ]


def password_forms(password: str, user: str) -> dict[str, bytes]:
    """The password as it could leak: as text, as UTF-16 (NTLM's form), and in base64 of
    either, alone, inside a longer base64 text at any of its three alignments, or in a Basic
    Authorization header."""
    forms = {"text": password.encode(), "UTF-16": password.encode("utf-16-le")}
    for name, raw in list(forms.items()):
        for shift in (0, 1, 2):
            # Inside a longer base64 text only the groups holding nothing but password bytes
            # are fixed: drop the first group when it shares bytes with what comes before,
            # and the last, which shares them with what follows.
            encoded = base64.b64encode(b"\0" * shift + raw)
            forms[f"base64 of the {name} at offset {shift}"] = encoded[4 if shift else 0:-4]
    forms["Basic header"] = base64.b64encode(f"{user}:{password}".encode())
    return forms


def test_no_record_or_log_holds_the_password_in_any_form(relay_runs: RelayRuns) -> None:
    produced = [p for p in relay_runs.folder.rglob("*") if p.is_file()]
    kernel_log = relay_runs.logs[1].read_text(encoding="utf-8")
    # The logs were really written at DEBUG, by the kernels and by this process.
    assert "DEBUG spnego" in kernel_log and "Set-ReceiveConnector" in kernel_log
    assert "running receive-connector-ip-ranges" in relay_runs.logs[0].read_text("utf-8")
    assert len([p for p in produced if p.suffix == ".ipynb"]) == 4

    forms = password_forms(relay_runs.password, relay_runs.user)
    found = [f"{path.relative_to(relay_runs.folder)}: {name}"
             for path in produced for name, form in forms.items() if form in path.read_bytes()]
    assert found == []


# ---------------------------------------------------------------------------------------------
# Failures over the wire


def test_a_connection_dropped_during_the_set_call_records_unknown_and_the_connector_read_again(
    emulator, emulator_user: str, tmp_path: Path
) -> None:
    emulator.faults.add(Fault("drop", cmdlet="Set-ReceiveConnector", when="after"))

    result = apply_relay_over_ntlm(emulator, emulator_user, tmp_path / "records")

    summary = summary_of(result)
    assert result.exit_code != 0
    assert summary["outcome"] == "unknown" and summary["error"]["type"] == "OutcomeUnknown"
    # The change was made before the drop; the re-read over a new runspace pool shows it.
    assert calls(summary)[-2:] == [("Set-ReceiveConnector", "unknown"),
                                   ("Get-ReceiveConnector", "ok")]
    assert len(summary["transcript"]["session"]["runspace_pools"]) == 2
    assert summary["verification"]["ok"] is True
    assert set(RELAY_ADDED) <= set(summary["verification"]["actual"])
    assert failing_steps(result.notebook) == ["Apply"]


def test_a_wrong_password_fails_the_run_with_an_authentication_error(
    emulator, emulator_user: str, throwaway_password: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(credentials.PASSWORD_ENV, throwaway_password + "-wrong")

    result = apply_relay_over_ntlm(emulator, emulator_user, tmp_path / "records")

    error = summary_of(result)["error"]
    assert result.exit_code != 0 and summary_of(result)["outcome"] == "failed"
    assert error["type"] == "AuthenticationError"
    assert f"refused the credentials of {emulator_user} (ntlm authentication" in error["message"]


# ---------------------------------------------------------------------------------------------
# Every other runbook, with its example parameters


@dataclass(frozen=True)
class Example:
    """A runbook run with one of the example parameters files.

    Args:
        task: the runbook.
        parameters_file: in ``parameters/``.
        apply: run the apply step too.
        outcome: the outcome both runs must end with.
        reads_simulated_logs: the runbook reviews the simulated protocol logs.
    """

    task: str
    parameters_file: str
    apply: bool
    outcome: str
    reads_simulated_logs: bool = False


EXAMPLES = [
    Example("send-connector-source-servers", "send-add-new-server.yaml", True, "applied"),
    Example("send-connector-smart-hosts", "send-swap-smart-host.yaml", False, "planned"),
    Example("send-connector-decommission", "send-decommission-old-server.yaml", False,
            "planned"),
    Example("send-connector-queue-health", "send-queue-health.yaml", False, "passed"),
    Example("lingering-hosts-review", "lingering-hosts-ex01.yaml", False, "passed",
            reads_simulated_logs=True),
]


def the_hour_both_runs_read(margin_s: float = 45) -> str:
    """The start of the current UTC hour, where the simulated protocol logs end, as ISO 8601.

    Both runs must read the same logs, so they do not start just before the hour turns.
    """
    now = dt.datetime.now(dt.timezone.utc)
    left = 3600 - (now.minute * 60 + now.second + now.microsecond / 1e6)
    if left < margin_s:
        time.sleep(left + 1)
        now = dt.datetime.now(dt.timezone.utc)
    return now.replace(minute=0, second=0, microsecond=0).isoformat()


def test_every_runbook_is_run_over_the_emulator() -> None:
    covered = {RELAY_TASK, *(example.task for example in EXAMPLES)}

    assert set(available_tasks()) <= covered


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.task for example in EXAMPLES])
def test_each_runbook_over_the_emulator_records_what_the_in_process_run_records(
    example: Example, emulator, emulator_user: str, state_path: Path, tmp_path: Path
) -> None:
    if not (notebooks_dir() / f"{example.task}.ipynb").is_file():
        pytest.skip(f"notebooks/{example.task}.ipynb is not there yet; nothing to run")
    twin = tmp_path / "in-process.json"
    shutil.copy(state_path, twin)  # the emulator wrote the fresh demo organization on start
    parameters = load_parameters(PARAMETERS / example.parameters_file)
    # Basic keeps these runs quick; NTLM with encryption is shown by the relay runbook above.
    basic = {"auth": "basic", "username": emulator_user, "allow_insecure_basic": True}
    if example.reads_simulated_logs:
        # The review's period ends now unless told otherwise; two runs seconds apart would
        # start their periods seconds apart and could count a session differently.
        parameters["end"] = the_hour_both_runs_read()

    remote = run(example.task, {**parameters, "target": emulator.url, "target_options": basic},
                 apply=example.apply, folder=tmp_path / "over-the-emulator")
    local = run(example.task, {**parameters, "target": f"simulated:{twin}"},
                apply=example.apply, folder=tmp_path / "in-process")

    assert (remote.outcome, local.outcome) == (example.outcome, example.outcome)
    assert summary_of(remote)["transcript"]["session"]["auth"] == "basic"
    assert comparable(summary_of(remote)) == comparable(summary_of(local))
