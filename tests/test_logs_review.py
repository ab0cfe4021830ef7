"""The lingering-hosts review: log facts joined with the connectors' configuration."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from connector_runbooks.errors import ExchangeError, InputError, InputErrors
from connector_runbooks.logs.review import (
    ENTRY_ACTIVE,
    ENTRY_SILENT,
    ENTRY_UNKNOWN,
    IN_USE,
    NO_DATA_LOGGING_OFF,
    NO_TRAFFIC,
    review_lingering_hosts,
)
from connector_runbooks.shell import Shell

FIXTURES = Path(__file__).parent / "fixtures" / "logs"
UTC = dt.timezone.utc
END = dt.datetime(2024, 5, 6, 12, tzinfo=UTC)


class ConfigShell(Shell):
    """A shell that answers the reads the review makes from fixed records."""

    transport = "test"

    def __init__(self, connectors: list[dict[str, Any]], max_age: str = "30.00:00:00",
                 max_size: int | None = 262144000) -> None:
        super().__init__()
        self.connectors = connectors
        self.service = {"Identity": "EX01", "ReceiveProtocolLogPath":
                        "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\TransportRoles\\"
                        "Logs\\FrontEnd\\ProtocolLog\\SmtpReceive",
                        "ReceiveProtocolLogMaxAge": max_age,
                        "ReceiveProtocolLogMaxDirectorySize": max_size}

    def _invoke(self, cmdlet: str, parameters: dict[str, Any]):
        if cmdlet == "Get-ReceiveConnector":
            return [c for c in self.connectors
                    if c["Server"].lower() == parameters["Server"].lower()], []
        if cmdlet in ("Get-FrontendTransportService", "Get-TransportService"):
            return [dict(self.service)], []
        if cmdlet == "Get-ExchangeServer":
            return [{"Name": "EX01", "Fqdn": "ex01.corp.example.com",
                     "IPAddresses": ["192.0.2.5"]},
                    {"Name": "EX02", "Fqdn": "ex02.corp.example.com",
                     "IPAddresses": ["198.51.100.50"]}], []
        raise AssertionError(f"unexpected {cmdlet}")


def connector(name: str, ranges: list[str], logging: str = "Verbose") -> dict[str, Any]:
    return {"Identity": f"EX01\\{name}", "Name": name, "Server": "EX01",
            "TransportRole": "FrontendTransport", "Bindings": ["0.0.0.0:25"],
            "RemoteIPRanges": ranges, "ProtocolLoggingLevel": logging}


RELAY = connector("Relay Scanners", ["198.51.100.40", "198.51.100.41",
                                     "198.51.100.60-198.51.100.69", "fd00:20::25"])
DEFAULT = connector("Default Frontend EX01", ["0.0.0.0-255.255.255.255"])
APPS = connector("Relay Applications", ["198.51.100.90"], logging="None")


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    """A copy of several fixture folders as one server's logs: <root>/EX01/..."""
    root = tmp_path / "logs"
    for scenario in ("split-session", "refused"):
        shutil.copytree(FIXTURES / scenario / "EX01", root / "EX01", dirs_exist_ok=True)
    return root


def review(logs: Path, *connectors: dict[str, Any], days: float = 1,
           end: dt.datetime = END, **options: Any):
    shell = ConfigShell(list(connectors), **options)
    return review_lingering_hosts(shell, ["EX01"], days=days, log_source=str(logs), end=end)


def test_an_entry_with_a_host_in_the_logs_is_active_and_names_it(logs):
    result = review(logs, RELAY)

    entry = result.entries[result.entries["entry"] == "198.51.100.40"].iloc[0]
    assert entry["state"] == ENTRY_ACTIVE
    assert entry["hosts"] == ["198.51.100.40"]
    assert entry["sessions"] == 2


def test_entries_without_hosts_are_silent_and_offered_for_removal(logs):
    result = review(logs, RELAY)

    silent = result.entries[result.entries["state"] == ENTRY_SILENT]["entry"].tolist()
    assert silent == ["198.51.100.41", "198.51.100.60-198.51.100.69", "fd00:20::25"]
    assert result.removal_candidates == {"EX01\\Relay Scanners": silent}


def test_a_connector_with_logging_off_says_no_data_not_no_traffic(logs):
    result = review(logs, APPS)

    row = result.connectors.iloc[0]
    assert row["status"] == NO_DATA_LOGGING_OFF
    assert result.entries["state"].tolist() == [ENTRY_UNKNOWN]
    assert result.removal_candidates == {}
    assert any("ProtocolLoggingLevel is None" in w and "Relay Applications" in w
               for w in result.warnings)


def test_a_logging_connector_without_sessions_says_no_traffic(logs):
    quiet = connector("Relay Quiet", ["203.0.113.9"])

    assert review(logs, quiet).connectors["status"].tolist() == [NO_TRAFFIC]


def test_a_host_refused_relay_is_listed_on_the_connector_it_reached(logs):
    result = review(logs, DEFAULT)

    assert result.connectors["status"].tolist() == [IN_USE]
    refused = result.hosts[result.hosts["remote_address"] == "198.51.100.77"].iloc[0]
    assert refused["recipients_refused"] == 1
    assert refused["in_entries"] == ["0.0.0.0-255.255.255.255"]
    assert result.connectors["recipients_refused"].tolist() == [1]


def test_logs_shorter_than_the_period_warn_and_name_the_retention_settings(logs):
    result = review(logs, RELAY, days=30)

    assert result.covers_period == {"EX01": False}
    warning = next(w for w in result.warnings if "begin at" in w)
    assert "ReceiveProtocolLogMaxAge 30.00:00:00" in warning
    assert "ReceiveProtocolLogMaxDirectorySize 262,144,000 bytes" in warning
    assert any("not proven unused" in w for w in result.warnings)


def test_logs_that_cover_the_whole_period_raise_no_coverage_warning(logs):
    result = review(logs, RELAY, days=0.08, end=dt.datetime(2024, 5, 6, 10, 10, tzinfo=UTC))

    assert result.covers_period == {"EX01": True}
    assert not any("begin at" in w or "end at" in w for w in result.warnings)


def test_logs_that_stop_before_the_end_of_the_period_warn(logs):
    result = review(logs, RELAY, days=0.2, end=dt.datetime(2024, 5, 6, 14, tzinfo=UTC))

    assert result.covers_period == {"EX01": False}
    assert any("end at 2024-05-06 10:00 UTC" in w for w in result.warnings)


def test_a_connector_that_does_not_exist_is_refused_with_the_names_that_do(logs):
    with pytest.raises(InputErrors) as raised:
        review_lingering_hosts(ConfigShell([RELAY]), ["EX01"], connectors=["EX01\\Relay"],
                               log_source=str(logs), end=END)

    assert "EX01\\Relay Scanners" in str(raised.value)


@pytest.mark.parametrize("days", [0, -3, "many"])
def test_a_period_that_is_not_a_positive_number_of_days_is_refused(logs, days):
    with pytest.raises(InputErrors):
        review_lingering_hosts(ConfigShell([RELAY]), ["EX01"], days=days,
                               log_source=str(logs), end=END)


def test_the_result_is_json_for_the_change_record(logs):
    record = json.loads(json.dumps(review(logs, RELAY, DEFAULT, APPS).to_dict()))

    assert record["removal_candidates"]["EX01\\Relay Scanners"][0] == "198.51.100.41"
    assert {c["status"] for c in record["connectors"]} == {IN_USE, NO_DATA_LOGGING_OFF}
    assert record["period"]["end"] == "2024-05-06T12:00:00.000Z"


def test_tables_export_to_csv_with_lists_joined(logs, tmp_path):
    paths = review(logs, RELAY).export_csv(tmp_path / "export")

    entries = next(p for p in paths if p.name.endswith("entries.csv")).read_text()
    assert "198.51.100.40,active,198.51.100.40,2," in entries


def test_the_end_of_the_period_may_be_given_as_iso_text(logs):
    result = review_lingering_hosts(ConfigShell([RELAY]), ["EX01"], days=1,
                                    end="2024-05-06T12:00Z", log_source=str(logs))

    assert result.end == END


def test_an_end_that_is_not_a_time_is_refused(logs):
    with pytest.raises(InputError):
        review_lingering_hosts(ConfigShell([RELAY]), ["EX01"], end="yesterday",
                               log_source=str(logs))


def test_a_host_that_is_an_exchange_server_is_marked_as_one(tmp_path):
    root = tmp_path / "logs"
    shutil.copytree(FIXTURES / "tls-auth" / "EX01", root / "EX01")

    result = review(root, DEFAULT)

    marked = dict(zip(result.hosts["remote_address"], result.hosts["exchange_server"]))
    assert marked == {"198.51.100.50": "EX02", "198.51.100.51": ""}


def test_server_names_in_another_letter_case_give_the_same_review(logs):
    end = dt.datetime(2024, 5, 6, 10, 10, tzinfo=UTC)

    upper, lower = (review_lingering_hosts(ConfigShell([RELAY]), [name], days=0.08,
                                           log_source=str(logs), end=end)
                    for name in ("EX01", "ex01"))

    assert lower.warnings == upper.warnings
    assert not any("not proven unused" in w for w in lower.warnings)
    assert lower.entries.equals(upper.entries)


def test_a_server_named_twice_in_two_letter_cases_is_reviewed_once(logs):
    result = review_lingering_hosts(ConfigShell([RELAY]), ["EX01", "ex01"], days=1,
                                    log_source=str(logs), end=END)

    assert result.servers == ["EX01"]
    assert result.connectors["connector"].tolist() == ["EX01\\Relay Scanners"]


class FailingShell(ConfigShell):
    """Answers like ConfigShell, except that the cmdlets named fail as Exchange fails."""

    def __init__(self, connectors: list[dict[str, Any]], failing: set[str]) -> None:
        super().__init__(connectors)
        self.failing = failing

    def _invoke(self, cmdlet: str, parameters: dict[str, Any]):
        if cmdlet in self.failing:
            raise ExchangeError(f"{cmdlet} is not allowed for this account.", cmdlet=cmdlet,
                                reason="AccessDeniedException")
        return super()._invoke(cmdlet, parameters)


def test_a_transport_service_that_cannot_be_read_is_a_warning_of_the_review(logs):
    shell = FailingShell([RELAY], {"Get-FrontendTransportService"})

    result = review_lingering_hosts(shell, ["EX01"], days=1, log_source=str(logs), end=END)

    warning = next(w for w in result.warnings if "Get-FrontendTransportService" in w)
    assert "EX01" in warning and "is not allowed for this account" in warning


def test_exchange_servers_that_cannot_be_listed_are_a_warning_of_the_review(logs):
    shell = FailingShell([RELAY], {"Get-ExchangeServer"})

    result = review_lingering_hosts(shell, ["EX01"], days=1, log_source=str(logs), end=END)

    assert any("Exchange servers cannot be listed" in w for w in result.warnings)
    assert result.hosts["exchange_server"].tolist() == [""] * len(result.hosts)


def test_a_server_without_a_folder_of_copied_logs_is_a_warning_naming_the_folder(logs):
    result = review_lingering_hosts(ConfigShell([RELAY]), ["EX01", "EX03"], days=1,
                                    log_source=str(logs), end=END)

    assert any(f"no folder named EX03 under {logs}" in w for w in result.warnings)


def test_an_unreadable_remote_ip_ranges_entry_is_a_warning_of_the_review(logs):
    odd = connector("Relay Odd", ["198.51.100.40", "not-an-address"])

    result = review(logs, odd)

    assert result.entries["entry"].tolist() == ["198.51.100.40"]
    assert any("'not-an-address'" in w and "EX01\\Relay Odd" in w for w in result.warnings)
