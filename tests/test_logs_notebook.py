"""The lingering-hosts runbook run headless against the demo organization."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from connector_runbooks.runner import load_parameters, run

TASK = "lingering-hosts-review"
PARAMETERS = Path(__file__).parents[1] / "parameters" / "lingering-hosts-ex01.yaml"


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("lingering")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CONNECTOR_RUNBOOKS_STATE", str(folder / "organization.json"))
        patch.setenv("CONNECTOR_RUNBOOKS_RECORDS", str(folder / "records"))
        parameters = load_parameters(PARAMETERS)
        parameters["source_options"] = {"cache_dir": str(folder / "logs")}
        result = run(TASK, parameters)
    assert result.exit_code == 0, result.error
    return json.loads(result.summary.read_text(encoding="utf-8"))


def test_the_record_shows_active_and_silent_entries_of_the_old_relay_connector(summary):
    entries = [e for e in summary["results"]["review"]["entries"]
               if e["connector"] == "EX01\\Relay Scanners"]

    assert {e["state"] for e in entries} == {"active", "silent"}
    silent = [e["entry"] for e in entries if e["state"] == "silent"]
    assert summary["results"]["review"]["removal_candidates"]["EX01\\Relay Scanners"] == silent


def test_the_record_says_no_data_for_the_connector_without_logging(summary):
    status = {c["connector"]: c["status"] for c in summary["results"]["review"]["connectors"]}

    assert status["EX01\\Relay Applications"] == "no data: protocol logging is off"
    assert any("Relay Applications" in w for w in summary["warnings"])


def test_the_review_passes_and_exports_csv_beside_the_record(summary):
    assert summary["outcome"] == "passed"
    assert all(Path(p).is_file() for p in summary["results"]["csv_files"])


def test_a_run_that_read_no_log_line_of_the_period_fails(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("CONNECTOR_RUNBOOKS_STATE", str(tmp_path / "organization.json"))
    monkeypatch.setenv("CONNECTOR_RUNBOOKS_RECORDS", str(tmp_path / "records"))
    (tmp_path / "logs" / "EX01").mkdir(parents=True)
    parameters = load_parameters(PARAMETERS)
    parameters.update(log_source=f"folder:{tmp_path / 'logs'}", export_csv=None)

    result = run(TASK, parameters)

    summary = json.loads(result.summary.read_text(encoding="utf-8"))
    assert result.exit_code == 1
    assert summary["outcome"] == "failed"
    assert summary["error"]["type"] == "NoLogData"
