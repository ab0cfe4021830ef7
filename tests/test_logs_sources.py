"""Where logs come from: admin share paths, local folder layouts, the source parameter."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from connector_runbooks.errors import InputError
from connector_runbooks.logs.sources import (
    LocalLogSource,
    SimulatedLogSource,
    SmbLogSource,
    admin_share_path,
    open_log_source,
)

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


def test_the_smb_source_reads_the_folder_the_transport_service_names(monkeypatch, caplog):
    import smbclient

    from connector_runbooks.shell import Shell

    class Settings(Shell):
        transport = "test"

        def _invoke(self, cmdlet, parameters):
            if cmdlet == "Get-ExchangeServer":
                return [{"Name": "EX01", "Fqdn": "ex01.corp.example.com"}], []
            return [{"Identity": "EX01", "ReceiveProtocolLogPath": "D:\\Logs\\SmtpReceive"}], []

    local = FIXTURES / "split-session" / "EX01"
    listed, sessions = [], []
    monkeypatch.setenv("CONNECTOR_RUNBOOKS_USERNAME", "CORP\\reader")
    monkeypatch.setenv("CONNECTOR_RUNBOOKS_PASSWORD", "not-in-any-log")
    monkeypatch.setattr(smbclient, "register_session",
                        lambda server, **options: sessions.append((server, options)))
    monkeypatch.setattr(smbclient, "scandir", lambda path: listed.append(path) or [
        _Entry(p) for p in sorted(local.iterdir())])
    monkeypatch.setattr(smbclient, "open_file", lambda path, mode: open(
        local / path.rpartition("\\")[2], mode))
    caplog.set_level("DEBUG")

    folders = SmbLogSource().folders("EX01", Settings())

    assert listed == ["\\\\ex01.corp.example.com\\D$\\Logs\\SmtpReceive"]
    assert [f.name for f in folders[0].files] == ["RECV2024050608-1.LOG", "RECV2024050609-1.LOG"]
    assert folders[0].files[0].read() == (local / "RECV2024050608-1.LOG").read_bytes()
    assert sessions[0][0] == "ex01.corp.example.com"
    assert sessions[0][1]["username"] == "CORP\\reader"
    assert "not-in-any-log" not in caplog.text
