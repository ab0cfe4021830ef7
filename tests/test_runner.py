"""Running the relay runbook headless into change records, through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from connector_runbooks import cli
from connector_runbooks.errors import InputError
from connector_runbooks.runner import load_parameters, run

TASK = "receive-connector-ip-ranges"


def outputs_text(notebook: Path) -> str:
    nb = nbformat.read(notebook, as_version=4)
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            parts.append(json.dumps(output))
    return "\n".join(parts)


def test_an_applied_run_records_plan_transcript_and_verification(
    isolated: Path, tmp_path: Path
) -> None:
    listing = tmp_path / "devices.txt"
    listing.write_bytes("\ufeff10.50.0.1\r\n\u201c10.50.0.2\u201d\r\n".encode())

    result = run(TASK, {"connector": r"EX02\Relay Scanners", "import_file": str(listing)},
                 apply=True)

    summary = json.loads(result.summary.read_text(encoding="utf-8"))
    assert result.exit_code == 0 and summary["outcome"] == "applied"
    assert result.notebook.parent == isolated.resolve()
    assert "receive-connector-ip-ranges_EX02-Relay-Scanners" in result.notebook.name
    assert summary["plan"]["add"] == ["10.50.0.1", "10.50.0.2"]
    assert summary["verification"]["ok"] is True
    assert [e["cmdlet"] for e in summary["transcript"]["entries"]].count(
        "Set-ReceiveConnector") == 1
    shown = outputs_text(result.notebook)
    assert "10.50.0.2" in shown and "Verified" in shown


def test_running_the_same_change_again_records_a_no_op(isolated: Path) -> None:
    parameters = {"connector": r"EX02\Relay Scanners", "add": ["10.50.0.9"]}
    run(TASK, parameters, apply=True)

    again = run(TASK, parameters, apply=True)

    summary = json.loads(again.summary.read_text(encoding="utf-8"))
    assert (again.exit_code, summary["outcome"]) == (0, "no-op")
    assert not [e for e in summary["transcript"]["entries"]
                if e["cmdlet"].startswith("Set-")]


def test_plan_only_changes_nothing_and_says_planned(isolated: Path) -> None:
    result = run(TASK, {"connector": r"EX02\Relay Scanners", "add": ["10.50.0.7"]})

    summary = json.loads(result.summary.read_text(encoding="utf-8"))
    assert summary["outcome"] == "planned"
    assert not [e for e in summary["transcript"]["entries"] if e["cmdlet"].startswith("Set-")]


def test_a_refused_plan_fails_the_run_and_the_record_says_failed(isolated: Path) -> None:
    result = run(TASK, {"connector": r"EX02\Relay Scanners",
                        "add": ["0.0.0.0-255.255.255.255"]}, apply=True)

    summary = json.loads(result.summary.read_text(encoding="utf-8"))
    assert result.exit_code != 0
    assert summary["outcome"] == "failed" and summary["error"]["type"] == "PlanRefused"


def test_a_bad_file_line_fails_the_run_naming_file_and_line(
    isolated: Path, tmp_path: Path
) -> None:
    listing = tmp_path / "devices.txt"
    listing.write_text("10.50.0.1\n10.50.0.1/33\n", encoding="utf-8")

    result = run(TASK, {"connector": r"EX02\Relay Scanners", "import_file": str(listing)},
                 apply=True)

    summary = json.loads(result.summary.read_text(encoding="utf-8"))
    assert summary["outcome"] == "failed"
    assert f"{listing}, line 2" in summary["error"]["message"]


def test_a_secret_parameter_is_refused_before_anything_runs(isolated: Path) -> None:
    with pytest.raises(InputError, match="secrets are never passed"):
        run(TASK, {"connector": r"EX02\Relay Scanners", "password": "hunter2"})
    assert not isolated.exists() or not list(isolated.iterdir())


def test_an_unknown_parameter_is_refused_naming_the_file(tmp_path: Path) -> None:
    parameters = tmp_path / "p.yaml"
    parameters.write_text("connector: EX02\\Relay Scanners\nad: [10.0.0.1]\n", encoding="utf-8")

    with pytest.raises(InputError) as failure:
        run(TASK, load_parameters(parameters), parameters_source=str(parameters))
    assert str(parameters) in str(failure.value) and "'ad'" in str(failure.value)


def test_a_yaml_error_names_the_file_and_line(tmp_path: Path) -> None:
    parameters = tmp_path / "p.yaml"
    parameters.write_text("connector: x\nadd: [10.0.0.1\nremove: []\n", encoding="utf-8")

    with pytest.raises(InputError) as failure:
        load_parameters(parameters)
    assert failure.value.source == str(parameters) and failure.value.line is not None


def test_relative_files_in_a_parameters_file_are_found_beside_it(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text("import_file: list.txt\n", encoding="utf-8")

    loaded = load_parameters(tmp_path / "p.yaml")

    assert loaded["import_file"] == str((tmp_path / "list.txt").resolve())


def test_the_command_line_exits_non_zero_on_failure(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["run", TASK, "-p", "connector", r"EX02\Relay Scanners",
                     "-p", "remove", "[10.0.0.0/8]", "-p", "add", "[0.0.0.0/0]", "--apply"])

    assert code != 0
    assert "outcome: failed" in capsys.readouterr().out


def test_plain_papermill_writes_the_summary_into_the_records_folder(
    isolated: Path, tmp_path: Path
) -> None:
    import papermill
    from connector_runbooks.runner import notebook_for

    papermill.execute_notebook(
        str(notebook_for(TASK)), str(tmp_path / "out.ipynb"), progress_bar=False,
        parameters={"connector": r"EX02\Relay Scanners", "add": ["10.50.0.3"], "apply": True},
    )

    [summary] = isolated.glob("*_receive-connector-ip-ranges_EX02-Relay-Scanners.json")
    assert json.loads(summary.read_text(encoding="utf-8"))["outcome"] == "applied"


def test_two_runs_named_alike_keep_separate_records(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import connector_runbooks.runner as runner

    monkeypatch.setattr(runner, "record_name", lambda task, subject: f"same_{task}")
    first = run(TASK, {"connector": r"EX02\Relay Scanners"})
    second = run(TASK, {"connector": r"EX02\Relay Scanners"})

    assert first.notebook != second.notebook
    assert first.summary.exists() and second.summary.exists()


def test_a_run_without_a_connector_is_named_after_the_notebook_default(isolated: Path) -> None:
    result = run(TASK, {})

    assert result.notebook.name.endswith("_receive-connector-ip-ranges_EX02-Relay-Scanners.ipynb")


@pytest.mark.parametrize("value", ["no", "false", 0, "true"])
def test_a_switch_that_is_not_true_or_false_is_refused(isolated: Path, value: object) -> None:
    with pytest.raises(InputError, match="apply must be true or false"):
        run(TASK, {"connector": r"EX02\Relay Scanners", "add": ["10.50.0.4"], "apply": value})


def test_a_parameters_file_cannot_apply_by_itself(
    isolated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parameters = tmp_path / "p.yaml"
    parameters.write_text("connector: EX02\\Relay Scanners\nadd: [10.50.0.4]\napply: true\n",
                          encoding="utf-8")

    code = cli.main(["run", TASK, "-f", str(parameters)])

    assert code != 0 and "--apply" in capsys.readouterr().err
    assert not isolated.exists() or not list(isolated.iterdir())


def test_apply_needs_the_connector_named_explicitly(isolated: Path) -> None:
    with pytest.raises(InputError, match="name the connector"):
        run(TASK, {"add": ["10.50.0.4"]}, apply=True)


@pytest.mark.parametrize("parameters", [
    {"target_options": {"auth": "ntlm", "password": "S3cr3t-nested"}},
    {"target": "http://LAB%5Ctester:S3cr3t-url@127.0.0.1:5985/PowerShell/"},
])
def test_a_secret_anywhere_in_the_parameters_is_refused_and_never_written(
    isolated: Path, parameters: dict
) -> None:
    with pytest.raises(InputError, match="secrets are never passed"):
        run(TASK, {"connector": r"EX02\Relay Scanners", **parameters})

    written = [p.read_text(errors="replace") for p in isolated.rglob("*") if p.is_file()]
    assert not any("S3cr3t" in text for text in written)


def test_a_windows_relative_path_in_a_parameters_file_is_found(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text("import_file: .\\lists\\devices.txt\n", encoding="utf-8")

    loaded = load_parameters(tmp_path / "p.yaml")

    assert Path(loaded["import_file"]) == (tmp_path / "lists" / "devices.txt").resolve()


def test_a_file_as_records_folder_is_refused_clearly(tmp_path: Path) -> None:
    occupied = tmp_path / "afile"
    occupied.write_text("", encoding="utf-8")

    with pytest.raises(InputError, match="cannot be the records folder"):
        run(TASK, {"connector": r"EX02\Relay Scanners"}, folder=occupied)


def test_a_number_where_entries_belong_is_refused_naming_the_parameter(isolated: Path) -> None:
    result = run(TASK, {"connector": r"EX02\Relay Scanners", "add": 5})

    summary = json.loads(result.summary.read_text(encoding="utf-8"))
    assert summary["outcome"] == "failed"
    assert "parameter add: 5: is not an entry" in summary["error"]["message"]


def test_the_record_opens_with_the_outcome_and_the_failing_step(isolated: Path) -> None:
    result = run(TASK, {"connector": r"EX02\Relay Scanners", "add": ["0.0.0.0/0"]}, apply=True)

    first = nbformat.read(result.notebook, as_version=4).cells[0]
    assert first.cell_type == "markdown"
    assert "outcome `failed`" in first.source
    assert "| failed at step | Apply |" in first.source and "PlanRefused" in first.source


def test_verbose_keeps_a_log_of_each_call_beside_the_record(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONNECTOR_RUNBOOKS_LOG_LEVEL", "")  # restored after the test

    code = cli.main(["-v", "run", TASK, "-p", "connector", r"EX02\Relay Scanners"])

    [log] = isolated.glob("*.log")
    assert code == 0 and "Get-ReceiveConnector EX02" in log.read_text(encoding="utf-8")
