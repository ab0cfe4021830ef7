"""The simulated organization's protocol logs: their shape, determinism, and the demo review."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from connector_runbooks import connect
from connector_runbooks.logs.reader import read_log
from connector_runbooks.logs.review import (
    ENTRY_ACTIVE,
    ENTRY_SILENT,
    NO_DATA_LOGGING_OFF,
    review_lingering_hosts,
)
from connector_runbooks.simulated.protocol_logs import (
    SimulatedHost,
    SimulatedServer,
    demo_hosts,
    logged_hosts,
    write_receive_logs,
)

UTC = dt.timezone.utc
UNTIL = dt.datetime(2024, 6, 10, 12, tzinfo=UTC)
SERVER = SimulatedServer("EX01", "ex01.corp.example.com", ("10.0.1.11", "fd00:1::b"), hosts=(
    SimulatedHost("10.20.1.11", "mfp-11.corp.example.com", "EX01\\Relay Scanners",
                  sessions_per_day=6, tls=True),
    SimulatedHost("fd00:20::25", "copier-25.corp.example.com", "EX01\\Relay Scanners",
                  sessions_per_day=3),
))


def write(folder: Path, seed: int = 1) -> list[Path]:
    return write_receive_logs(folder, SERVER, end=dt.date(2024, 5, 8), days=2, seed=seed)


def test_the_same_seed_writes_the_same_bytes(tmp_path):
    first = write(tmp_path / "a")
    second = write(tmp_path / "b")

    assert [p.name for p in first] == [p.name for p in second]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(first, second))


def test_another_seed_writes_other_traffic(tmp_path):
    assert [p.read_bytes() for p in write(tmp_path / "a")] != [
        p.read_bytes() for p in write(tmp_path / "b", seed=2)]


def test_files_have_hour_stamped_upper_case_names_crlf_and_no_byte_order_mark(tmp_path):
    files = write(tmp_path)

    assert all(re.fullmatch(r"RECV2024050[67]\d\d-1\.LOG", p.name) for p in files)
    data = files[0].read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    assert data.count(b"\n") == data.count(b"\r\n")
    assert data.split(b"\r\n")[:3] == [b"#Software: Microsoft Exchange Server",
                                       b"#Version: 15.0.0.0",
                                       b"#Log-type: SMTP Receive Protocol Log"]


def test_the_generated_files_read_cleanly_on_the_fast_path(tmp_path):
    parsed = [read_log(p) for p in write(tmp_path)]

    assert all(not p.malformed and not p.careful for p in parsed)
    banner = next(r for r in parsed[0].table.to_pylist() if r["data"].startswith("220 "))
    assert "Microsoft ESMTP MAIL Service ready at" in banner["data"]


def test_a_session_runs_over_the_hour_into_the_next_file(tmp_path):
    sessions_per_file = [set(read_log(p).table.column("session-id").to_pylist())
                         for p in write(tmp_path)]

    shared = [a & b for a, b in zip(sessions_per_file, sessions_per_file[1:])]
    assert any(shared)


def test_hosts_on_a_connector_with_logging_off_leave_no_lines():
    connectors = [{"Identity": "EX01\\Relay Applications", "ProtocolLoggingLevel": "None",
                   "RemoteIPRanges": ["10.40.0.10"]}]

    assert demo_hosts(connectors) != []
    assert logged_hosts(demo_hosts(connectors), connectors) == ()


@pytest.fixture(scope="module")
def demo_review(tmp_path_factory):
    state = tmp_path_factory.mktemp("org") / "state.json"
    shell = connect(f"simulated:{state}")
    return review_lingering_hosts(
        shell, ["EX01"], days=30, log_source="simulated", end=UNTIL,
        source_options={"until": UNTIL, "cache_dir": tmp_path_factory.mktemp("logs")})


def test_the_demo_relay_connector_has_active_and_silent_entries(demo_review):
    entries = demo_review.entries[demo_review.entries["connector"] == "EX01\\Relay Scanners"]

    states = set(entries["state"])
    assert states == {ENTRY_ACTIVE, ENTRY_SILENT}
    assert demo_review.removal_candidates["EX01\\Relay Scanners"] == entries[
        entries["state"] == ENTRY_SILENT]["entry"].tolist()


def test_the_demo_relay_applications_connector_has_no_data(demo_review):
    status = demo_review.connectors.set_index("connector")["status"]

    assert status["EX01\\Relay Applications"] == NO_DATA_LOGGING_OFF


def test_the_demo_shows_a_refused_relay_on_default_frontend(demo_review):
    hosts = demo_review.hosts.set_index("remote_address")

    assert hosts.loc["10.20.9.77", "connector"] == "EX01\\Default Frontend EX01"
    assert hosts.loc["10.20.9.77", "recipients_refused"] > 0
    assert hosts.loc["10.20.9.77", "recipients_accepted"] == 0


def test_the_demo_monthly_job_is_seen_only_on_the_first(demo_review):
    daily = demo_review.daily
    monthly = [address for address, days in daily.groupby("remote_address")["day"]
               if set(days) == {dt.date(2024, 6, 1)}]

    assert len(monthly) == 1


def test_the_demo_logs_cover_the_period(demo_review):
    assert demo_review.covers_period == {"EX01": True}
    assert demo_review.coverage["malformed_lines"].tolist() == [0]
