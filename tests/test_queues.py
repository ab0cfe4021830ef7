"""The queue health check: what it reads, what it recognises, and when it fails."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from connector_runbooks import queues, send
from connector_runbooks.errors import ExchangeError
from connector_runbooks.simulated.shell import SimulatedShell
from helpers import ReadOnlyShell

INTERNET = "To Internet"
TIMEOUT = (
    '441 4.4.1 Error encountered while communicating with primary target IP address: "Failed '
    'to connect. Winsock error code: 10061, Win32 error code: 10061." Attempted failover to '
    "alternate host, but that did not succeed. Either there are no alternate hosts, or delivery "
    "failed to all alternate hosts. The last endpoint attempted was 203.0.113.10:25"
)
UNABLE = (
    '451 4.4.0 Primary target IP address responded with: "421 4.2.1 Unable to connect." '
    "Attempted failover to alternate host, but that did not succeed. Either there are no "
    "alternate hosts, or delivery failed to all alternate hosts. The last endpoint attempted "
    "was 203.0.113.40:25"
)


def retry_queue(led: str, fqdn: str = "", ip: str = "") -> dict[str, Any]:
    return {"Identity": "EX03\\7", "DeliveryType": "SmartHostConnectorDelivery",
            "NextHopDomain": "smtp1.relay.example.net", "Status": "Retry", "MessageCount": 4,
            "LastError": f"[{{LRT=12/3/2026 6:10:00 PM}};{{LED={led}}};{{FQDN={fqdn}}};"
                         f"{{IP={ip}}}]"}


def add_blocked_ex03(shell: SimulatedShell) -> None:
    shell.organization.set_port25_blocked("EX03", True)
    send.apply_plan(shell, send.plan_source_servers(shell, INTERNET, add="EX03"))


def test_the_untouched_organization_passes(state_path: Path) -> None:
    health = queues.check_queues(ReadOnlyShell(state_path), INTERNET)

    assert health.passed and health.servers == ["EX01", "EX02"]
    assert {(row.server, row.status) for row in health.rows} == {("EX01", "Ready"),
                                                                 ("EX02", "Ready")}
    queues.raise_if_failed(health)


def test_a_blocked_port_25_names_the_server_the_host_and_the_port(
    shell: SimulatedShell,
) -> None:
    add_blocked_ex03(shell)

    health = queues.check_queues(shell, INTERNET, servers=["EX03"])

    assert not health.passed
    assert health.problems[0].startswith("EX03 cannot reach 203.0.113.25 on port 25: the "
                                         "connection timed out (441 4.4.1, Winsock error 10060)")
    assert "failover to smtp1.relay.example.net failed too" in health.problems[0]
    with pytest.raises(queues.QueueCheckFailed, match="EX03 cannot reach"):
        queues.raise_if_failed(health)


def test_only_the_blocked_server_fails(shell: SimulatedShell) -> None:
    add_blocked_ex03(shell)

    health = queues.check_queues(shell, INTERNET)

    assert [f.server for f in health.failures] == ["EX03"]
    assert len(health.rows) == 3


def test_the_time_left_is_the_expiration_timeout_less_the_oldest_message_age(
    shell: SimulatedShell,
) -> None:
    now = dt.datetime.now(dt.UTC)
    shell.organization.set_port25_blocked("EX03", True, since=now - dt.timedelta(hours=5))
    send.apply_plan(shell, send.plan_source_servers(shell, INTERNET, add="EX03"))

    row = queues.check_queues(shell, INTERNET, servers="EX03").rows[0]

    assert dt.timedelta(hours=5) <= row.oldest_message_age < dt.timedelta(hours=5, minutes=1)
    assert row.oldest_message_age + row.expires_in == dt.timedelta(days=2)
    assert "it expires in 1 d 18 h" in row.problem  # 42 h 59 min, rounded down


def test_a_connector_without_a_queue_is_not_an_error(state_path: Path) -> None:
    health = queues.check_queues(ReadOnlyShell(state_path), "To Partner")

    assert health.passed
    assert [(row.server, row.queue, row.status) for row in health.rows] == [
        ("EX01", None, "no queue")]


def test_a_dns_routed_connector_names_the_mx_host(shell: SimulatedShell) -> None:
    shell.organization.set_port25_blocked("EX01", True)

    health = queues.check_queues(shell, "To Partner")

    assert health.problems[0].startswith(
        "EX01 cannot reach mail.partner.example.net (203.0.113.40) on port 25")


def test_a_refused_connection_is_recognised() -> None:
    failure = queues.connection_failure("EX03", retry_queue(TIMEOUT, ip="203.0.113.10"), 25)

    assert (failure.host, failure.port, failure.reason) == (
        "203.0.113.10", 25, "the connection was refused")


def test_unable_to_connect_in_a_451_reply_is_recognised() -> None:
    queue = retry_queue(UNABLE, fqdn="mail.partner.example.net", ip="203.0.113.40")

    failure = queues.connection_failure("EX01", queue, 25)

    assert (failure.host, failure.address) == ("mail.partner.example.net", "203.0.113.40")
    assert failure.detail == '451 4.4.0, "421 4.2.1 Unable to connect"'


def test_an_error_without_the_last_endpoint_takes_the_connector_port() -> None:
    older = TIMEOUT.split(" The last endpoint")[0]

    failure = queues.connection_failure("EX03", retry_queue(older, ip="203.0.113.10"), 587)

    assert failure.port == 587


def test_an_authentication_error_is_not_called_unreachable() -> None:
    led = ('451 4.4.0 Primary target IP address responded with: "451 5.7.3 Cannot achieve '
           'Exchange Server authentication." The last endpoint attempted was 10.0.1.12:25')

    assert queues.connection_failure("EX03", retry_queue(led), 25) is None


def test_a_real_server_is_asked_for_its_oldest_message(state_path: Path) -> None:
    """Exchange has no OldestMessageReceived on a queue; Get-Message tells it."""
    received = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)

    class RealShapes(SimulatedShell):
        def _invoke(self, cmdlet: str, parameters: dict[str, Any]):
            if cmdlet == "Get-Message":
                return [{"Identity": parameters["Queue"] + "\\1", "DateReceived": received}], []
            records, warnings = super()._invoke(cmdlet, parameters)
            for record in records:
                record.pop("OldestMessageReceived", None)
            return records, warnings

    shell = RealShapes(state_path)
    add_blocked_ex03(shell)

    row = queues.check_queues(shell, INTERNET, servers="EX03").rows[0]

    asked = shell.transcript.calls("Get")[-1]
    assert (asked.cmdlet, asked.parameters["Queue"]) == ("Get-Message", "EX03\\3")
    assert dt.timedelta(hours=2) <= row.oldest_message_age < dt.timedelta(hours=2, minutes=1)


class OldestMessageShell(SimulatedShell):
    """Queues in a real server's shape: no OldestMessageReceived, Get-Message answers."""

    def __init__(self, state_path: Path, answer) -> None:
        super().__init__(state_path)
        self.answer = answer

    def _invoke(self, cmdlet: str, parameters: dict[str, Any]):
        if cmdlet == "Get-Message":
            return self.answer(parameters)
        records, warnings = super()._invoke(cmdlet, parameters)
        for record in records:
            record.pop("OldestMessageReceived", None)
        return records, warnings


def test_an_arrival_time_that_is_not_iso_leaves_the_age_unknown_and_says_so(
    state_path: Path,
) -> None:
    shell = OldestMessageShell(state_path, lambda parameters: (
        [{"Identity": parameters["Queue"] + "\\1", "DateReceived": "12/3/2026 6:10:00 PM"}],
        []))
    add_blocked_ex03(shell)

    health = queues.check_queues(shell, INTERNET, servers="EX03")

    row = health.rows[0]
    assert row.oldest_message_age is None and row.expires_in is None
    assert "12/3/2026 6:10:00 PM" in row.note and "unknown" in row.note
    assert row.problem  # the queue is still reported as stuck
    assert health.to_dict()["notes"] == [row.note]


def test_messages_that_cannot_be_read_are_noted_in_the_record_without_failing_the_check(
    state_path: Path,
) -> None:
    def refuse(parameters):
        raise ExchangeError("The queue wasn't found.", cmdlet="Get-Message",
                            reason="QueueViewerException")

    class Waiting(OldestMessageShell):
        def _invoke(self, cmdlet: str, parameters: dict[str, Any]):
            records, warnings = super()._invoke(cmdlet, parameters)
            if cmdlet == "Get-Queue":
                for record in records:
                    record["MessageCount"] = 2
            return records, warnings

    health = queues.check_queues(Waiting(state_path, refuse), INTERNET, servers="EX01")

    assert health.passed
    assert "could not be read" in health.rows[0].note
    assert health.rows[0].note in health.verdict
    assert health.to_dict()["notes"] == [health.rows[0].note]


def test_after_a_smart_host_change_every_source_server_is_checked(shell: SimulatedShell) -> None:
    plan = send.plan_smart_hosts(shell, INTERNET, add="smtp2.relay.example.net")
    result = send.apply_plan(shell, plan)

    checks = queues.check_after_apply(shell, plan, result)

    assert [(c.connector, c.servers) for c in checks] == [(INTERNET, ["EX01", "EX02"])]


def test_nothing_is_checked_when_nothing_was_applied(state_path: Path) -> None:
    guarded = ReadOnlyShell(state_path)
    plan = send.plan_source_servers(guarded, INTERNET, add="EX03")

    assert queues.check_after_apply(guarded, plan, None) == []
    assert "Get-Queue" not in [e.cmdlet for e in guarded.transcript.entries]


def test_a_decommission_checks_the_replacement_where_it_was_added(shell: SimulatedShell) -> None:
    shell.organization.set_port25_blocked("EX03", True)
    plan = send.plan_decommission(shell, "EX01", replace_with="EX03")
    result = send.apply_decommission(shell, plan)

    checks = queues.check_after_apply(shell, plan, result)

    assert [(c.connector, c.servers, c.passed) for c in checks] == [("To Partner", ["EX03"],
                                                                     False)]
    assert checks[0].problems[0].startswith(
        "EX03 cannot reach mail.partner.example.net (203.0.113.40) on port 25")


def test_a_queue_failure_after_an_applied_change_says_the_change_went_through(
    shell: SimulatedShell,
) -> None:
    shell.organization.set_port25_blocked("EX03", True)
    plan = send.plan_source_servers(shell, INTERNET, add="EX03")
    result = send.apply_plan(shell, plan)

    with pytest.raises(queues.QueueCheckFailed) as failure:
        queues.raise_if_failed(*queues.check_after_apply(shell, plan, result), after=result)

    assert str(failure.value).startswith("The change was applied and verified, but the queue "
                                         "check failed:\n  - EX03 cannot reach 203.0.113.25")
