"""The change record: what it keeps, and what it releases when a run ends."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from connector_runbooks.errors import RunbookError
from connector_runbooks.records import ChangeRecord
from connector_runbooks.shell import Shell


class CountingShell(Shell):
    transport = "counting"
    closed = 0

    def _invoke(self, cmdlet: str, parameters: dict[str, Any]):
        return [], []

    def close(self) -> None:
        self.closed += 1


def test_a_failed_run_closes_its_sessions(tmp_path: Path) -> None:
    record = ChangeRecord("task", {}, folder=tmp_path)
    shell = record.attach(CountingShell())

    record.fail(RunbookError("boom"))

    assert shell.closed == 1
    assert json.loads(record.path.read_text(encoding="utf-8"))["outcome"] == "failed"


def test_the_summary_keeps_the_transcript_with_secrets_redacted(tmp_path: Path) -> None:
    record = ChangeRecord("task", {"connector": "EX01\\Relay"}, folder=tmp_path)
    shell = record.attach(CountingShell())
    shell.invoke("Get-ReceiveConnector", Server="EX01", AuthenticationCredential="hunter2")

    record.finish("planned")

    text = record.path.read_text(encoding="utf-8")
    assert "Get-ReceiveConnector" in text and "hunter2" not in text


def test_every_error_record_of_a_call_reaches_the_transcript(tmp_path: Path) -> None:
    from connector_runbooks.errors import ExchangeError

    class TwoErrorsShell(CountingShell):
        def _invoke(self, cmdlet: str, parameters: dict[str, Any]):
            first = ExchangeError("first", cmdlet=cmdlet, reason="A")
            first.others = [ExchangeError("second", cmdlet=cmdlet, reason="B")]
            raise first

    record = ChangeRecord("task", {}, folder=tmp_path)
    shell = record.attach(TwoErrorsShell())
    try:
        shell.invoke("Get-ReceiveConnector")
    except ExchangeError as error:
        record.fail(error)

    entry = json.loads(record.path.read_text(encoding="utf-8"))["transcript"]["entries"][0]
    assert [e["reason"] for e in [entry["error"], *entry["error"]["others"]]] == ["A", "B"]
