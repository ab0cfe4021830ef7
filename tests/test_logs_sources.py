"""Where logs come from: admin share paths, local folder layouts, the source parameter."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from connector_runbooks.errors import ExchangeError, InputError
from connector_runbooks.logs.review import review_lingering_hosts
from connector_runbooks.logs.sources import (
    LocalLogSource,
    SimulatedLogSource,
    SmbLogSource,
    admin_share_path,
    log_paths,
    open_log_source,
)
from connector_runbooks.shell import Shell, connect

FIXTURES = Path(__file__).parent / "fixtures" / "logs"
DEFAULT_PATH = ("C:\\Program Files\\Microsoft\\Exchange Server\\V15\\TransportRoles\\Logs\\"
                "FrontEnd\\ProtocolLog\\SmtpReceive")


def test_the_admin_share_takes_the_drive_letter_from_the_log_path():
    assert admin_share_path("ex01.corp.example.com", DEFAULT_PATH) == (
        "\\\\ex01.corp.example.com\\C$\\Program Files\\Microsoft\\Exchange Server\\V15\\"
        "TransportRoles\\Logs\\FrontEnd\\ProtocolLog\\SmtpReceive")


def test_a_moved_log_folder_on_another_drive_uses_that_drives_share():
    assert admin_share_path("ex02.corp.example.com", "d:\\Exchange Logs\\SmtpReceive\\") == (
        "\\\\ex02.corp.example.com\\D$\\Exchange Logs\\SmtpReceive")


def test_forward_slashes_are_turned_into_backslashes():
    assert admin_share_path("ex01", "E:/Logs/Receive") == "\\\\ex01\\E$\\Logs\\Receive"


def test_a_unc_log_path_is_used_as_it_is():
    assert admin_share_path("ex01", "\\\\filer\\logs\\ex01\\") == "\\\\filer\\logs\\ex01"


@pytest.mark.parametrize("path", ["", "Logs\\SmtpReceive", "CC:\\Logs"])
def test_a_path_without_a_drive_letter_is_refused(path):
    with pytest.raises(InputError):
        admin_share_path("ex01", path)


def test_each_server_has_its_own_folder_under_the_root(tmp_path):
    for server in ("EX01", "ex02"):
        shutil.copytree(FIXTURES / "refused" / "EX01", tmp_path / server)

    source = LocalLogSource(tmp_path)

    assert [f.server for f in source.folders("EX02")] == ["EX02"]
    assert source.folders("EX02")[0].location.endswith("ex02")


def test_a_single_server_folder_can_be_given_directly():
    folders = LocalLogSource(FIXTURES / "refused" / "EX01").folders("EX01")

    assert [len(f.files) for f in folders] == [1]


def test_a_server_without_a_folder_has_no_log_folders(tmp_path):
    shutil.copytree(FIXTURES / "refused" / "EX01", tmp_path / "EX01")

    assert LocalLogSource(tmp_path).folders("EX03") == []


def test_the_source_parameter_picks_the_source():
    assert isinstance(open_log_source("simulated"), SimulatedLogSource)
    assert isinstance(open_log_source("SMB"), SmbLogSource)
    assert isinstance(open_log_source(f"folder:{FIXTURES}"), LocalLogSource)
    assert isinstance(open_log_source(str(FIXTURES)), LocalLogSource)


def test_a_log_source_folder_that_does_not_exist_is_refused(tmp_path):
    with pytest.raises(InputError) as raised:
        open_log_source(str(tmp_path / "missing"))

    assert raised.value.source == "parameter log_source"


class _Entry:
    def __init__(self, path: Path) -> None:
        self.name = path.name
        self._path = path

    def is_file(self) -> bool:
        return True

    def stat(self):
        return self._path.stat()


class SmbSettings(Shell):
    """Answers the reads of the SMB source: the server's FQDN and its receive log path."""

    transport = "test"

    def _invoke(self, cmdlet, parameters):
        if cmdlet == "Get-ExchangeServer":
            return [{"Name": "EX01", "Fqdn": "ex01.corp.example.com"}], []
        if cmdlet == "Get-ReceiveConnector":
            return [{"Identity": "EX01\\Relay", "Name": "Relay", "Server": "EX01",
                     "TransportRole": "FrontendTransport", "RemoteIPRanges": ["198.51.100.40"],
                     "ProtocolLoggingLevel": "Verbose"}], []
        return [{"Identity": "EX01", "ReceiveProtocolLogPath": "D:\\Logs\\SmtpReceive"}], []


class FakeSmb:
    """smbclient's calls, answered from a local fixture folder and written down."""

    def __init__(self, local: Path) -> None:
        self.local = local
        self.listed: list[str] = []
        self.sessions: list[tuple[str, dict]] = []
        self.closed: list[tuple[str, int]] = []
        self.unlistable: set[str] = set()

    def scandir(self, path):
        self.listed.append(path)
        if path in self.unlistable:
            raise PermissionError(13, "Access is denied", path)
        return [_Entry(p) for p in sorted(self.local.iterdir())]


@pytest.fixture
def smb(monkeypatch) -> FakeSmb:
    import smbclient

    fake = FakeSmb(FIXTURES / "split-session" / "EX01")
    monkeypatch.setenv("CONNECTOR_RUNBOOKS_USERNAME", "CORP\\reader")
    monkeypatch.setenv("CONNECTOR_RUNBOOKS_PASSWORD", "not-in-any-log")
    monkeypatch.setattr(smbclient, "register_session",
                        lambda server, **options: fake.sessions.append((server, options)))
    monkeypatch.setattr(smbclient, "delete_session",
                        lambda server, port=445: fake.closed.append((server, port)))
    monkeypatch.setattr(smbclient, "scandir", fake.scandir)
    monkeypatch.setattr(smbclient, "open_file", lambda path, mode: open(
        fake.local / path.rpartition("\\")[2], mode))
    return fake


def test_the_smb_source_reads_the_folder_the_transport_service_names(smb, caplog):
    caplog.set_level("DEBUG")

    folders = SmbLogSource().folders("EX01", SmbSettings())

    assert smb.listed == ["\\\\ex01.corp.example.com\\D$\\Logs\\SmtpReceive"]
    assert [f.name for f in folders[0].files] == ["RECV2024050608-1.LOG", "RECV2024050609-1.LOG"]
    assert folders[0].files[0].read() == (smb.local / "RECV2024050608-1.LOG").read_bytes()
    assert smb.sessions[0][0] == "ex01.corp.example.com"
    assert smb.sessions[0][1]["username"] == "CORP\\reader"
    assert "not-in-any-log" not in caplog.text


def test_closing_the_smb_source_ends_the_sessions_it_opened(smb):
    with SmbLogSource(port=4445) as source:
        source.folders("EX01", SmbSettings())

    assert smb.closed == [("ex01.corp.example.com", 4445)]


def test_the_review_ends_the_smb_sessions_it_opened(smb):
    review_lingering_hosts(SmbSettings(), ["EX01"], days=1, log_source="smb",
                           end=dt.datetime(2024, 5, 6, 12, tzinfo=dt.timezone.utc))

    assert smb.closed == [("ex01.corp.example.com", 445)]


def test_a_log_folder_that_cannot_be_listed_is_a_warning_of_the_source(smb):
    path = "\\\\ex01.corp.example.com\\D$\\Logs\\SmtpReceive"
    smb.unlistable.add(path)
    source = SmbLogSource()

    folders = source.folders("EX01", SmbSettings())

    assert folders[0].files == []
    assert len(source.warnings) == 1
    assert path in source.warnings[0] and "Access is denied" in source.warnings[0]


def test_the_smb_path_keeps_spnego_token_logging_quiet():
    """pyspnego logs whole authentication tokens at DEBUG; the SMB path must never let
    them through, even when a user turns DEBUG on for everything."""
    code = ("import logging; logging.basicConfig(level=logging.DEBUG); "
            "import connector_runbooks.logs.sources; "
            "print(logging.getLogger('spnego').getEffectiveLevel())")

    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True)

    assert int(shown.stdout) > logging.DEBUG


def test_a_transport_service_that_fails_is_a_warning_naming_cmdlet_and_server():
    class NoFrontEnd(SmbSettings):
        def _invoke(self, cmdlet, parameters):
            if cmdlet == "Get-FrontendTransportService":
                raise ExchangeError("The operation couldn't be performed because object "
                                    "'EX09' couldn't be found.", cmdlet=cmdlet)
            return super()._invoke(cmdlet, parameters)

    warnings: list[str] = []

    assert log_paths(NoFrontEnd(), "EX09", ["FrontendTransport"], warnings) == {}
    assert len(warnings) == 1
    assert warnings[0].startswith("EX09: Get-FrontendTransportService failed")


# ---------------------------------------------------------------------------------------------
# The simulated organization's log cache

UNTIL = dt.datetime(2024, 5, 6, 12, tzinfo=dt.timezone.utc)


@pytest.fixture
def simulated_shell(tmp_path):
    return connect(f"simulated:{tmp_path / 'organization.json'}")


def _another_run_publishes_first(monkeypatch, cache: Path, shell) -> dict:
    """While this run generates, another run generates the same logs and publishes them.

    Returns:
        Filled in as the other run finishes: its ``folders``, and the ``inode`` of its first
        file at that moment.
    """
    from connector_runbooks.simulated import protocol_logs

    write = protocol_logs.write_receive_logs
    theirs: dict = {}

    def write_while_another_run_publishes(*args, **kwargs):
        if not theirs:
            theirs["started"] = True
            folders = SimulatedLogSource(cache, until=UNTIL, max_days=2).folders("EX01", shell)
            theirs.update(folders=folders, inode=os.stat(folders[0].files[0].location).st_ino)
        return write(*args, **kwargs)

    monkeypatch.setattr(protocol_logs, "write_receive_logs", write_while_another_run_publishes)
    return theirs


def test_simulated_logs_another_run_published_are_used_not_replaced_under_its_reader(
    tmp_path, monkeypatch, simulated_shell,
):
    cache = tmp_path / "cache"
    theirs = _another_run_publishes_first(monkeypatch, cache, simulated_shell)

    mine = SimulatedLogSource(cache, until=UNTIL, max_days=2).folders("EX01", simulated_shell)

    first = Path(theirs["folders"][0].files[0].location)
    assert mine[0].location == theirs["folders"][0].location
    assert first.stat().st_ino == theirs["inode"]
    assert [p.name for p in first.parent.parent.iterdir()] == ["SmtpReceive"]


def test_simulated_logs_published_meanwhile_are_used_where_a_rename_cannot_replace_a_folder(
    tmp_path, monkeypatch, simulated_shell,
):
    """Windows refuses to rename onto an existing folder, even an empty one."""
    rename = Path.rename

    def windows_rename(self, target):
        if Path(target).exists():
            raise FileExistsError(183, "Cannot create a file when that file already exists",
                                  str(target))
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", windows_rename)
    cache = tmp_path / "cache"
    theirs = _another_run_publishes_first(monkeypatch, cache, simulated_shell)

    mine = SimulatedLogSource(cache, until=UNTIL, max_days=2).folders("EX01", simulated_shell)

    assert [f.name for f in mine[0].files] == [f.name for f in theirs["folders"][0].files]
    assert mine[0].files
