"""Facts per (server, connector, remote address) from hand-written log folders."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

from connector_runbooks.logs.facts import read_facts
from connector_runbooks.logs.files import local_folders

FIXTURES = Path(__file__).parent / "fixtures" / "logs"
UTC = dt.timezone.utc


def facts_of(scenario: str, server: str = "EX01", **options):
    return read_facts(local_folders(server, FIXTURES / scenario / server), **options)


def host(facts, address: str) -> dict:
    matches = facts.hosts[facts.hosts["remote_address"] == address].to_dict(orient="records")
    assert len(matches) == 1, facts.hosts
    return matches[0]


def test_a_session_split_across_two_files_counts_once():
    facts = facts_of("split-session")

    printer = host(facts, "198.51.100.40")
    assert printer["sessions"] == 2
    assert printer["recipients_accepted"] == 1


def test_first_and_last_seen_span_both_files():
    printer = host(facts_of("split-session"), "198.51.100.40")

    assert printer["first_seen"] == dt.datetime(2024, 5, 6, 8, 59, 58, 500000, tzinfo=UTC)
    assert printer["last_seen"] == dt.datetime(2024, 5, 6, 9, 30, 0, 200000, tzinfo=UTC)


def test_a_split_session_counts_on_the_day_it_started():
    facts = facts_of("split-session")

    assert facts.daily[["day", "sessions"]].to_dict(orient="records") == [
        {"day": dt.date(2024, 5, 6), "sessions": 2}]


def test_a_refused_relay_is_reported_with_its_host():
    facts = facts_of("refused")

    printer = host(facts, "198.51.100.77")
    assert printer["connector"] == "EX01\\Default Frontend EX01"
    assert printer["sessions"] == 1
    assert printer["recipients_refused"] == 1
    assert printer["recipients_accepted"] == 0
    assert printer["messages_queued"] == 0
    assert printer["ehlo_names"] == ["[198.51.100.77]"]


def test_tls_and_the_authenticated_user_are_found():
    erp = host(facts_of("tls-auth"), "198.51.100.50")

    assert erp["tls_sessions"] == 1
    assert erp["tls_versions"] == ["TLS 1.2"]
    assert erp["users"] == ["CORP\\svc-erp"]
    assert erp["authenticated_sessions"] == 1
    assert erp["anonymous_sessions"] == 0


def test_a_failed_logon_counts_its_tarpit_and_the_user_tried():
    app = host(facts_of("tls-auth"), "198.51.100.51")

    assert app["tarpits"] == 1
    assert app["logon_failures"] == 1
    assert app["tried_users"] == ["svc-hr@example.com"]
    assert app["users"] == []
    assert app["anonymous_sessions"] == 1
    assert app["ehlo_names"] == ["hr-app.example.net"]


def test_coverage_gives_files_bytes_and_the_time_the_logs_cover():
    coverage = facts_of("split-session").coverage.to_dict(orient="records")[0]

    assert coverage["files"] == 2
    assert coverage["bytes"] == sum(p.stat().st_size for p in
                                    (FIXTURES / "split-session" / "EX01").iterdir())
    assert coverage["first_line"] == dt.datetime(2024, 5, 6, 8, 59, 58, 500000, tzinfo=UTC)
    assert coverage["last_line"] == dt.datetime(2024, 5, 6, 9, 30, 0, 200000, tzinfo=UTC)
    assert coverage["malformed_lines"] == 0


def test_malformed_lines_reach_the_facts_with_file_and_line(tmp_path):
    folder = tmp_path / "EX01"
    folder.mkdir()
    (folder / "RECV2024050608-1.LOG").write_bytes(
        (FIXTURES / "files" / "malformed.LOG").read_bytes())

    facts = read_facts(local_folders("EX01", folder))

    assert facts.coverage["malformed_lines"].tolist() == [4]
    assert facts.malformed["line"].tolist() == [7, 9, 10, 12]
    assert facts.malformed["file"].str.endswith("RECV2024050608-1.LOG").all()
    assert host(facts, "198.51.100.20")["sessions"] == 1


def test_lines_outside_the_period_are_left_out():
    facts = facts_of("split-session", start=dt.datetime(2024, 5, 6, 9, 15, tzinfo=UTC))

    printer = host(facts, "198.51.100.40")
    assert printer["sessions"] == 1
    assert printer["first_seen"] == dt.datetime(2024, 5, 6, 9, 30, tzinfo=UTC)


def test_files_entirely_before_the_period_are_not_read():
    facts = facts_of("split-session", start=dt.datetime(2024, 5, 6, 11, tzinfo=UTC))

    assert facts.coverage["files_before_window"].tolist() == [1]
    assert facts.coverage["files"].tolist() == [1]


def test_send_logs_are_read_when_asked():
    facts = facts_of("send", log_types=("Send",))

    partner = host(facts, "203.0.113.25")
    assert partner["log_type"] == "Send"
    assert partner["connector"] == "Outbound to Partner"
    assert partner["sessions"] == 1


def test_an_exchange_2010_session_is_counted():
    legacy = host(facts_of("exchange2010", "EX2010"), "198.51.100.30")

    assert legacy["ehlo_names"] == ["legacy-app"]
    assert legacy["recipients_accepted"] == 1


def test_an_ipv6_host_is_keyed_by_its_whole_address(tmp_path):
    folder = tmp_path / "EX01"
    folder.mkdir()
    (folder / "RECV2024050608-1.LOG").write_bytes((FIXTURES / "files" / "ipv6.LOG").read_bytes())

    facts = read_facts(local_folders("EX01", folder))

    assert facts.hosts["remote_address"].tolist() == ["fd00:20::25"]


def test_two_servers_give_their_own_facts(tmp_path):
    for server, scenario in (("EX01", "refused"), ("EX02", "tls-auth")):
        target = tmp_path / server
        target.mkdir()
        for source in (FIXTURES / scenario / "EX01").iterdir():
            (target / source.name).write_bytes(
                source.read_bytes().replace(b"EX01\\", f"{server}\\".encode()))

    facts = read_facts(local_folders("EX01", tmp_path / "EX01")
                       + local_folders("EX02", tmp_path / "EX02"))

    by_server = facts.hosts.groupby("server")["remote_address"].apply(sorted).to_dict()
    assert by_server == {"EX01": ["198.51.100.77"], "EX02": ["198.51.100.50", "198.51.100.51"]}


def test_the_facts_serialise_to_json():
    text = json.dumps(facts_of("tls-auth").to_dict())

    assert '"first_seen": "2024-05-06T11:00:00.000Z"' in text


def test_a_send_log_folder_beside_the_receive_folder_is_not_a_receive_folder(tmp_path):
    for scenario, folder in (("refused", "SmtpReceive"), ("send", "SmtpSend")):
        shutil.copytree(FIXTURES / scenario / "EX01", tmp_path / folder)

    facts = read_facts(local_folders("EX01", tmp_path))

    assert [Path(f).name for f in facts.coverage["folder"]] == ["SmtpReceive"]


def test_a_starttls_the_server_refused_is_not_counted_as_tls():
    refused = host(facts_of("tls-refused"), "198.51.100.60")

    assert refused["tls_sessions"] == 0
    assert refused["recipients_accepted"] == 1


def test_a_starttls_the_server_agreed_to_counts_as_tls_without_a_negotiation_line():
    legacy = host(facts_of("tls-refused"), "198.51.100.61")

    assert legacy["tls_sessions"] == 1


def test_an_exact_duplicate_of_a_counted_line_counts_once():
    facts = facts_of("duplicates")

    assert host(facts, "198.51.100.62")["recipients_accepted"] == 1
    assert facts.coverage["duplicate_lines"].tolist() == [1]


def test_two_replies_in_the_same_millisecond_both_count():
    assert host(facts_of("duplicates"), "198.51.100.63")["recipients_accepted"] == 2


def send_log_named_as_receive_log(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "RECV2024050608-1.LOG"
    target.write_bytes((FIXTURES / "send" / "EX01" / "SEND2024050608-1.LOG").read_bytes())
    return target


def test_a_receive_named_file_whose_header_says_send_is_not_read_as_a_receive_log(tmp_path):
    send_log_named_as_receive_log(tmp_path / "EX01")

    facts = read_facts(local_folders("EX01", tmp_path / "EX01"))

    assert facts.hosts.empty
    coverage = facts.coverage.to_dict(orient="records")[0]
    assert coverage["files"] == 0
    assert coverage["other_type_files"] == ["RECV2024050608-1.LOG: Send"]


def test_a_receive_named_file_whose_header_says_send_is_read_with_the_send_logs(tmp_path):
    send_log_named_as_receive_log(tmp_path / "EX01")

    facts = read_facts(local_folders("EX01", tmp_path / "EX01"), log_types=("Receive", "Send"))

    assert facts.hosts[["log_type", "remote_address"]].to_dict(orient="records") == [
        {"log_type": "Send", "remote_address": "203.0.113.25"}]


def test_a_folder_of_send_logs_only_is_noted_and_not_read():
    facts = facts_of("send")

    assert facts.coverage.empty
    assert facts.other_folders[["log_type", "files"]].to_dict(orient="records") == [
        {"log_type": "Send", "files": 1}]
