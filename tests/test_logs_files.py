"""Protocol log file names, their order, and finding log folders on disk."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from connector_runbooks.logs.files import LogFile, local_folders, ordered
from connector_runbooks.logs.names import parse_log_file_name

FIXTURES = Path(__file__).parent / "fixtures" / "logs"


def named(*names: str) -> list[LogFile]:
    return [LogFile(name, name, 0, bytes) for name in names]


def test_the_hour_stamped_form_gives_date_hour_and_number():
    parsed = parse_log_file_name("RECV2024050608-12.LOG")

    assert parsed.log_type == "Receive"
    assert parsed.started == dt.datetime(2024, 5, 6, 8, tzinfo=dt.timezone.utc)
    assert parsed.number == 12
    assert parsed.has_hour


def test_the_documented_day_form_is_read_without_regard_to_case():
    parsed = parse_log_file_name("send20100315-1.log")

    assert parsed.log_type == "Send"
    assert parsed.started == dt.datetime(2010, 3, 15, tzinfo=dt.timezone.utc)
    assert not parsed.has_hour


def test_names_that_are_not_protocol_logs_give_nothing():
    assert parse_log_file_name("RECV2024133108-1.LOG") is None
    assert parse_log_file_name("notes.txt") is None


def test_files_are_ordered_by_the_time_in_the_name_then_by_number_not_as_text():
    files, unrecognised = ordered(named("RECV2024050609-1.LOG", "RECV2024050608-10.LOG",
                                        "recv20240506-2.log", "RECV2024050608-2.LOG",
                                        "RECV2024050608-1.LOG"))

    assert [f.name for f in files] == ["recv20240506-2.log", "RECV2024050608-1.LOG",
                                       "RECV2024050608-2.LOG", "RECV2024050608-10.LOG",
                                       "RECV2024050609-1.LOG"]
    assert unrecognised == []


def test_a_log_like_name_that_does_not_parse_is_reported_not_dropped_silently():
    files, unrecognised = ordered(named("RECV2024050608-1.LOG", "RECV-copy.LOG", "readme.md"))

    assert [f.name for f in files] == ["RECV2024050608-1.LOG"]
    assert unrecognised == ["RECV-copy.LOG"]


def test_each_folder_with_log_files_is_one_log_folder():
    folders = local_folders("EX01", FIXTURES / "split-session")

    assert [(f.server, Path(f.location).name, len(f.files)) for f in folders] == [
        ("EX01", "EX01", 2)]


def test_a_hub_folder_above_the_root_does_not_make_the_logs_hub_logs(tmp_path):
    root = tmp_path / "hub" / "copies" / "EX01"
    (root / "FrontEnd" / "ProtocolLog" / "SmtpReceive").mkdir(parents=True)
    for folder in (root, root / "FrontEnd" / "ProtocolLog" / "SmtpReceive"):
        (folder / "RECV2024050608-1.LOG").write_bytes(b"")

    assert [f.role for f in local_folders("EX01", root)] == ["FrontendTransport"] * 2


def test_a_hub_folder_below_the_root_holds_hub_logs(tmp_path):
    folder = tmp_path / "EX01" / "Hub" / "ProtocolLog" / "SmtpReceive"
    folder.mkdir(parents=True)
    (folder / "RECV2024050608-1.LOG").write_bytes(b"")

    assert [f.role for f in local_folders("EX01", tmp_path / "EX01")] == ["HubTransport"]
