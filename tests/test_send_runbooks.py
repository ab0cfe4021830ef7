"""Running the Send connector runbooks headless into change records, through the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from connector_runbooks import cli
from connector_runbooks.errors import InputError
from connector_runbooks.runner import RunResult, run
from connector_runbooks.simulated.organization import Organization

PARAMETERS = Path(__file__).resolve().parents[1] / "parameters"
SOURCE_SERVERS = "send-connector-source-servers"
SMART_HOSTS = "send-connector-smart-hosts"
QUEUE_HEALTH = "send-connector-queue-health"
DECOMMISSION = "send-connector-decommission"


def summary_of(result: RunResult) -> dict[str, Any]:
    return json.loads(result.summary.read_text(encoding="utf-8"))


def sent(summary: dict[str, Any], verb: str = "Set") -> list[dict[str, Any]]:
    return [e for e in summary["transcript"]["entries"] if e["cmdlet"].startswith(verb + "-")]


@pytest.mark.parametrize(("task", "example", "outcome"), [
    (SOURCE_SERVERS, "send-add-new-server.yaml", "applied"),
    (SOURCE_SERVERS, "send-remove-old-server.yaml", "applied"),
    (SMART_HOSTS, "send-swap-smart-host.yaml", "applied"),
    (DECOMMISSION, "send-decommission-old-server.yaml", "applied"),
    (QUEUE_HEALTH, "send-queue-health.yaml", "passed"),
])
def test_each_example_records_its_plan_and_then_its_apply(
    isolated: Path, task: str, example: str, outcome: str,
) -> None:
    apply = ["--apply"] if outcome == "applied" else []  # the queue check has no apply step
    arguments = ["run", task, "-f", str(PARAMETERS / example), "--records"]

    planned = cli.main(arguments + [str(isolated / "plan")])
    applied = cli.main(arguments + [str(isolated / "apply")] + apply)

    assert (planned, applied) == (0, 0)
    first, second = (json.loads(next((isolated / step).glob("*.json")).read_text("utf-8"))
                     for step in ("plan", "apply"))
    assert (first["outcome"], second["outcome"]) == (
        ("planned", "applied") if apply else ("passed", "passed"))
    assert first["task"] == second["task"] == task
    assert not sent(first)
    if apply:
        assert second["verification"] and sent(second)


def test_only_hashtable_edits_reach_the_connector(isolated: Path) -> None:
    result = run(SMART_HOSTS, {"connector": "To Internet", "add": ["smtp2.relay.example.net"],
                               "remove": ["[203.0.113.25]"]}, apply=True)

    edits = [e["parameters"]["SmartHosts"] for e in sent(summary_of(result))]
    assert edits == [{"Add": ["smtp2.relay.example.net"], "Remove": ["[203.0.113.25]"]}]


def test_an_unknown_server_fails_the_run_and_nothing_is_sent(isolated: Path) -> None:
    result = run(SOURCE_SERVERS, {"connector": "To Internet", "add": ["EX09"]}, apply=True)

    summary = summary_of(result)
    assert result.exit_code != 0 and summary["outcome"] == "failed"
    assert summary["error"]["type"] == "PlanRefused" and "EX09" in summary["error"]["message"]
    assert not sent(summary)


def test_smart_hosts_on_a_dns_routed_connector_fail_unless_dns_routing_goes_off(
    isolated: Path,
) -> None:
    parameters = {"connector": "To Partner", "add": ["198.51.100.7"]}

    refused = run(SMART_HOSTS, parameters, apply=True)
    allowed = run(SMART_HOSTS, {**parameters, "dns_routing_enabled": False}, apply=True)

    assert summary_of(refused)["outcome"] == "failed"
    assert "uses DNS routing" in summary_of(refused)["error"]["message"]
    assert summary_of(allowed)["outcome"] == "applied"
    assert sent(summary_of(allowed))[0]["parameters"]["DNSRoutingEnabled"] is False


def test_the_queue_check_passes_without_the_fault(isolated: Path) -> None:
    result = run(QUEUE_HEALTH, {"connector": "To Internet"})

    summary = summary_of(result)
    assert (result.exit_code, summary["outcome"]) == (0, "passed")
    assert summary["results"]["queues"]["passed"] is True


def test_a_blocked_port_25_fails_the_queue_check_naming_server_host_and_port(
    isolated: Path, tmp_path: Path,
) -> None:
    Organization(tmp_path / "organization.json").set_port25_blocked("EX01", True)

    result = run(QUEUE_HEALTH, {"connector": "To Internet"})

    summary = summary_of(result)
    assert result.exit_code != 0 and summary["outcome"] == "failed"
    assert summary["error"]["type"] == "QueueCheckFailed"
    assert "EX01 cannot reach 203.0.113.25 on port 25" in summary["error"]["message"]


def test_the_command_line_exits_non_zero_when_mail_is_stuck(
    isolated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    cli.main(["simulator", "block-port25", "EX02", "--state", str(tmp_path / "organization.json")])

    code = cli.main(["run", QUEUE_HEALTH, "-p", "connector", "To Internet"])

    assert code != 0
    assert "EX02 cannot reach" in capsys.readouterr().out


def test_adding_a_blocked_server_fails_the_record_saying_the_change_was_applied(
    isolated: Path, tmp_path: Path,
) -> None:
    Organization(tmp_path / "organization.json").set_port25_blocked("EX03", True)

    result = run(SOURCE_SERVERS, {"connector": "To Internet", "add": ["EX03"]}, apply=True)

    summary = summary_of(result)
    assert result.exit_code != 0 and summary["outcome"] == "failed"
    assert summary["apply"]["outcome"] == "applied" and summary["verification"]["ok"]
    assert summary["results"]["queues"][0]["servers"] == ["EX03"]
    assert summary["error"]["message"].startswith(
        "The change was applied and verified, but the queue check failed:\n  - EX03 cannot reach")


def test_a_decommission_notes_each_connector_as_it_is_done(isolated: Path) -> None:
    result = run(DECOMMISSION, {"server": "EX01", "replace_with": ["EX03"]}, apply=True)

    summary = summary_of(result)
    assert summary["outcome"] == "applied"
    assert [s["connector"] for s in summary["steps"] if s["step"] == "applied"] == [
        "To Internet", "To Partner"]
    assert [v["ok"] for v in summary["verification"]] == [True, True]
    assert "send-connector-decommission_EX01" in result.notebook.name


def test_the_queue_health_runbook_has_no_apply_step(isolated: Path) -> None:
    with pytest.raises(InputError, match="changes nothing"):
        run(QUEUE_HEALTH, {"connector": "To Internet"}, apply=True)
