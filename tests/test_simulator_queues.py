"""Get-Queue in the simulated organization, with and without the port-25 fault (4.7, 6)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from connector_runbooks.simulated import Organization

NOW = dt.datetime(2026, 5, 6, 12, 0, 0, tzinfo=dt.timezone.utc)

LED = re.compile(
    r'^\[\{LRT=\d+/\d+/\d{4} \d+:\d\d:\d\d [AP]M\};\{LED=441 4\.4\.1 Error encountered while '
    r'communicating with primary target IP address: "Failed to connect\. Winsock error code: '
    r'10060, Win32 error code: 10060\." Attempted failover to alternate host, but that did not '
    r'succeed\. Either there are no alternate hosts, or delivery failed to all alternate hosts\. '
    r'The last endpoint attempted was (?P<ip>[\d.]+):25\};\{FQDN=(?P<fqdn>[^}]*)\};'
    r'\{IP=(?P<ip2>[\d.]+)\}\]$'
)


@pytest.fixture
def org(tmp_path) -> Organization:
    return Organization(tmp_path / "org.json", clock=lambda: NOW)


def queues(org: Organization, server: str) -> dict[str, dict]:
    result = org.execute("Get-Queue", {"Server": server})
    assert not result.errors, result.errors
    return {q.to_string: q.properties for q in result.output}


def test_healthy_server_has_submission_and_a_ready_smart_host_queue(org):
    found = queues(org, "EX01")
    assert found["EX01\\Submission"]["Status"] == "Ready"
    delivery = [q for q in found.values() if q["DeliveryType"] != "Undefined"]
    assert [(q["DeliveryType"], q["Status"], q["MessageCount"]) for q in delivery] == [
        ("SmartHostConnectorDelivery", "Ready", 0)]


def test_blocked_port_25_puts_smart_host_mail_in_retry(org):
    org.set_port25_blocked("EX02", True)
    (queue,) = [q for q in queues(org, "EX02").values()
                if q["DeliveryType"] == "SmartHostConnectorDelivery"]
    assert queue["Status"] == "Retry"
    assert queue["MessageCount"] > 0
    assert queue["NextHopDomain"] == "smtp1.relay.example.net,[203.0.113.25]"
    match = LED.match(queue["LastError"])
    assert match, queue["LastError"]
    assert match["ip"] == match["ip2"] == "203.0.113.25" and match["fqdn"] == ""


def test_blocked_queue_times_follow_the_retry_schedule(org):
    org.set_port25_blocked("EX02", True)
    (queue,) = [q for q in queues(org, "EX02").values() if q["Status"] == "Retry"]
    assert queue["OldestMessageReceived"] == NOW - dt.timedelta(hours=3)
    assert queue["FirstRetryTime"] == NOW - dt.timedelta(hours=3)
    assert queue["LastRetryTime"] <= NOW < queue["NextRetryTime"]
    assert queue["NextRetryTime"] - queue["LastRetryTime"] == dt.timedelta(minutes=10)


def test_blocked_dns_routed_connector_names_the_mx_host(org):
    org.set_port25_blocked("EX01", True)
    dns = [q for q in queues(org, "EX01").values() if q["DeliveryType"] == "DnsConnectorDelivery"]
    assert [q["NextHopDomain"] for q in dns] == ["partner.example.net"]
    match = LED.match(dns[0]["LastError"])
    assert match["fqdn"] == "mail.partner.example.net" and match["ip"] == "203.0.113.40"


def test_messages_older_than_two_days_have_expired(org):
    org.set_port25_blocked("EX02", True, since=NOW - dt.timedelta(days=5))
    (queue,) = [q for q in queues(org, "EX02").values() if q["Status"] == "Retry"]
    assert queue["OldestMessageReceived"] == NOW - dt.timedelta(days=2)


def test_clearing_the_fault_empties_the_queue(org):
    org.set_port25_blocked("EX02", True)
    org.set_port25_blocked("ex02.corp.example.com", False)
    assert all(q["Status"] == "Ready" for q in queues(org, "EX02").values())


def test_the_fault_is_kept_in_the_state_file(org, tmp_path):
    org.set_port25_blocked("EX02", True)
    again = Organization(tmp_path / "org.json", clock=lambda: NOW)
    assert set(again.port25_blocked()) == {"EX02"}


def test_a_server_outside_the_connector_has_no_delivery_queue(org):
    org.set_port25_blocked("EX03", True)
    assert list(queues(org, "EX03")) == ["EX03\\Submission"]


def test_fault_on_an_unknown_server_is_refused_naming_it(org):
    from connector_runbooks.errors import RunbookError

    with pytest.raises(RunbookError, match="'EX99'"):
        org.set_port25_blocked("EX99", True)


def test_filter_keeps_matching_queues(org):
    org.set_port25_blocked("EX01", True)
    result = org.execute("Get-Queue", {"Server": "EX01", "Filter": "Status -eq 'Retry' -and "
                                                                  "MessageCount -gt 0"})
    assert len(result.output) == 2
    assert {q.properties["Status"] for q in result.output} == {"Retry"}


def test_identity_selects_one_queue(org):
    result = org.execute("Get-Queue", {"Identity": "EX01\\Submission"})
    assert [q.to_string for q in result.output] == ["EX01\\Submission"]


def test_get_queue_with_server_and_identity_fails_binding(org):
    assert org.execute("Get-Queue", {"Server": "EX01",
                                     "Identity": "EX01\\Submission"}).errors[0].terminating
