"""The lingering-hosts review: log facts joined with the connectors' configuration."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from connector_runbooks.errors import ExchangeError, InputError, InputErrors
from connector_runbooks.logs.display import summary_text
from connector_runbooks.logs.review import (
    ENTRY_ACTIVE,
    ENTRY_KEPT,
    ENTRY_NOT_SEEN_IN_PART,
    ENTRY_SILENT,
    ENTRY_UNKNOWN,
    IN_USE,
    NO_DATA_LOGGING_OFF,
    NO_DATA_NO_OVERLAP,
    NO_DATA_ONLY_SEND,
    NO_TRAFFIC,
    NoLogData,
    review_lingering_hosts,
)
from connector_runbooks.shell import Shell

FIXTURES = Path(__file__).parent / "fixtures" / "logs"
UTC = dt.timezone.utc
END = dt.datetime(2024, 5, 6, 12, tzinfo=UTC)
#: The fixtures' logs run from 08:00 to 10:00 on 2024-05-06: a period they cover whole.
COVERED = {"days": 0.08, "end": dt.datetime(2024, 5, 6, 10, 10, tzinfo=UTC)}


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


def review(logs: Path, *connectors: dict[str, Any], days: float = COVERED["days"],
           end: dt.datetime = COVERED["end"], **options: Any):
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
    result = review(logs, RELAY, days=30, end=END)

    assert result.covers_period == {"EX01": False}
    warning = next(w for w in result.warnings if "begin at" in w)
    assert "ReceiveProtocolLogMaxAge 30.00:00:00" in warning
    assert "ReceiveProtocolLogMaxDirectorySize 262,144,000 bytes" in warning


def test_entries_not_seen_in_logs_covering_part_of_the_period_are_not_removal_candidates(logs):
    result = review(logs, RELAY, days=30, end=END)

    not_seen = result.entries[result.entries["entry"] != "198.51.100.40"]
    assert set(not_seen["state"]) == {ENTRY_NOT_SEEN_IN_PART}
    assert result.removal_candidates == {}
    assert result.connectors["status"].tolist() == [IN_USE]
    assert any("3 entries were not seen" in w and "not offered for removal" in w
               for w in result.warnings)


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
    assert record["period"]["end"] == "2024-05-06T10:10:00.000Z"


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

    result = review(root, DEFAULT, days=1, end=END)

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
    result = review_lingering_hosts(ConfigShell([RELAY]), ["EX01", "EX02"], days=1,
                                    log_source=str(logs), end=END)

    assert any(f"no folder named EX02 under {logs}" in w for w in result.warnings)


def test_an_unreadable_remote_ip_ranges_entry_is_a_warning_of_the_review(logs):
    odd = connector("Relay Odd", ["198.51.100.40", "not-an-address"])

    result = review(logs, odd)

    assert result.entries["entry"].tolist() == ["198.51.100.40"]
    assert any("'not-an-address'" in w and "EX01\\Relay Odd" in w for w in result.warnings)


# -- logs that do not cover the period -------------------------------------------------------


def test_logs_that_end_before_the_period_give_no_data_and_no_removal_candidates(logs):
    result = review(logs, RELAY, DEFAULT, days=7, end=dt.datetime(2024, 5, 13, 12, tzinfo=UTC))

    assert result.connectors["status"].tolist() == [NO_DATA_NO_OVERLAP] * 2
    assert set(result.entries["state"]) == {"unknown: the logs do not overlap the period"}
    assert result.removal_candidates == {}
    assert any("end at 2024-05-06 10:00 UTC, before the period begins" in w
               for w in result.warnings)


def test_logs_that_begin_after_the_period_give_no_data(logs):
    result = review(logs, RELAY, days=1, end=dt.datetime(2024, 5, 5, 12, tzinfo=UTC))

    assert result.connectors["status"].tolist() == [NO_DATA_NO_OVERLAP]
    assert any("after the period ends" in w for w in result.warnings)


def test_the_coverage_of_logs_outside_the_period_says_none_not_the_period_start(logs):
    result = review(logs, RELAY, days=7, end=dt.datetime(2024, 5, 13, 12, tzinfo=UTC))

    coverage = result.coverage.to_dict(orient="records")[0]
    assert coverage["overlap"] == "none"
    assert coverage["covered_from"] is None and coverage["covered_until"] is None
    assert coverage["covers_period"] is False


def test_the_part_of_the_period_covered_is_never_rounded_to_the_whole(logs):
    result = review(logs, RELAY, days=0.12)

    assert any("so they cover 2 of the 2.9 hours asked" in w for w in result.warnings)


# -- entries never offered for removal -------------------------------------------------------


def test_entries_of_a_connector_exchange_setup_creates_are_never_offered_for_removal(logs):
    client = connector("Client Frontend EX01", ["203.0.113.9"])

    result = review(logs, client)

    entry = result.entries.iloc[0]
    assert entry["state"] == ENTRY_KEPT
    assert "connector Exchange setup creates" in entry["note"]
    assert result.removal_candidates == {}


def test_an_entry_covering_every_address_is_never_offered_for_removal(logs):
    everything = connector("Relay Everything", ["::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"])

    result = review(logs, everything)

    assert result.entries["state"].tolist() == [ENTRY_KEPT]
    assert "every IPv6 address" in result.entries["note"].iloc[0]
    assert result.removal_candidates == {}


# -- where the logs are ------------------------------------------------------------------------


def test_a_hub_folder_name_above_the_log_root_does_not_hide_front_end_traffic(tmp_path):
    root = tmp_path / "hub" / "logs"
    shutil.copytree(FIXTURES / "refused" / "EX01", root / "EX01")

    result = review(root, DEFAULT)

    assert result.connectors["status"].tolist() == [IN_USE]
    assert result.coverage["role"].tolist() == ["FrontendTransport"]


def test_a_connector_whose_hosts_were_seen_is_in_use_whatever_folder_they_were_in(tmp_path):
    shutil.copytree(FIXTURES / "refused" / "EX01",
                    tmp_path / "EX01" / "Hub" / "ProtocolLog" / "SmtpReceive")

    result = review(tmp_path, DEFAULT)

    row = result.connectors.iloc[0]
    assert (row["status"], row["hosts"]) == (IN_USE, 1)


def test_a_server_with_only_send_logs_says_the_review_needs_receive_logs(tmp_path):
    shutil.copytree(FIXTURES / "send" / "EX01", tmp_path / "EX01")

    result = review(tmp_path, RELAY)

    assert result.connectors["status"].tolist() == [NO_DATA_ONLY_SEND]
    assert any("only send logs were found" in w and "needs the SmtpReceive logs" in w
               for w in result.warnings)
    assert not any("no protocol log files were found" in w for w in result.warnings)


def test_a_receive_named_file_holding_a_send_log_is_a_warning_of_the_review(tmp_path):
    (tmp_path / "EX01").mkdir()
    (tmp_path / "EX01" / "RECV2024050608-1.LOG").write_bytes(
        (FIXTURES / "send" / "EX01" / "SEND2024050608-1.LOG").read_bytes())

    result = review(tmp_path, RELAY)

    assert any("RECV2024050608-1.LOG" in w and "header says it is a send log" in w
               for w in result.warnings)
    assert result.connectors["status"].tolist() == [NO_DATA_ONLY_SEND]


# -- a review that read nothing --------------------------------------------------------------


def test_a_review_that_read_no_line_of_the_period_fails(tmp_path):
    (tmp_path / "EX01").mkdir()

    result = review(tmp_path, RELAY)

    with pytest.raises(NoLogData, match="No protocol log line of the period"):
        result.raise_if_nothing_read()


def test_a_review_with_lines_but_a_connector_without_logging_does_not_fail(logs):
    result = review(logs, APPS)

    assert result.lines_read > 0
    result.raise_if_nothing_read()


def test_exporting_a_review_without_hosts_writes_every_table(logs, tmp_path):
    paths = review(logs, APPS).export_csv(tmp_path / "export")

    hosts = next(p for p in paths if p.name.endswith("hosts.csv")).read_text()
    assert hosts.startswith("server,log_type,connector,remote_address,sessions,first_seen")


# -- wording ------------------------------------------------------------------------------------


def test_a_period_of_zero_days_is_refused_saying_it_must_be_more_than_zero(logs):
    with pytest.raises(InputErrors) as raised:
        review(logs, RELAY, days=0)

    assert "more than 0" in str(raised.value)
    assert "from 0" not in str(raised.value)


def test_a_connector_of_a_server_not_reviewed_says_the_server_is_not_reviewed(logs):
    with pytest.raises(InputErrors) as raised:
        review_lingering_hosts(ConfigShell([RELAY]), ["EX01"], connectors=["EX02\\Relay Scanners"],
                               log_source=str(logs), end=END)

    assert "EX02 is not among the servers reviewed (EX01)" in str(raised.value)


def test_an_unknown_server_is_refused_naming_the_organizations_servers(logs):
    with pytest.raises(InputErrors) as raised:
        review_lingering_hosts(ConfigShell([RELAY]), ["EX09"], log_source=str(logs), end=END)

    assert "'EX09': is not an Exchange server of this organization" in str(raised.value)
    assert "one of: EX01, EX02" in str(raised.value)


def test_the_summary_does_not_count_kept_entries_as_silent(logs):
    setup = connector("Client Frontend EX01", ["203.0.113.9"])

    text = summary_text(review(logs, RELAY, DEFAULT, setup))

    assert "2 active, 3 silent (offered for removal), 1 silent but kept" in text


def test_a_reviewed_role_without_logs_is_a_warning_when_the_other_role_has_them(logs):
    hub = dict(connector("Relay Hub", ["203.0.113.9"]), TransportRole="HubTransport")

    result = review(logs, RELAY, hub)

    status = dict(zip(result.connectors["connector"], result.connectors["status"]))
    assert status["EX01\\Relay Hub"] == "no data: no protocol log files found"
    assert any("no receive logs of the HubTransport service" in w for w in result.warnings)
    assert result.covers_period == {"EX01": False}


def test_a_small_part_of_a_long_period_is_told_in_its_own_unit_not_as_zero(tmp_path):
    shutil.copytree(FIXTURES / "tls-auth" / "EX01", tmp_path / "EX01")

    result = review(tmp_path, DEFAULT, days=30, end=dt.datetime(2024, 5, 6, 11, 30, tzinfo=UTC))

    assert any("so they cover 6 seconds of the 30 days asked" in w for w in result.warnings)
