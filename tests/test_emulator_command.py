"""``connector-runbooks emulator``: start, reach it as the printed message says, stop."""

from __future__ import annotations

import io
import re
import secrets
import threading

import pytest
from connector_runbooks import credentials
from connector_runbooks.emulator import main_emulator
from connector_runbooks.remote import RemoteShell

USER = "LAB\\tester"
PASSWORD = "throwaway-" + secrets.token_hex(8)


@pytest.fixture(autouse=True)
def password(monkeypatch):
    monkeypatch.setenv(credentials.PASSWORD_ENV, PASSWORD)
    monkeypatch.setattr(credentials, "can_prompt", lambda: False)
    monkeypatch.delenv("NTLM_USER_FILE", raising=False)


def _start(argv: list[str]):
    """Run main_emulator in a thread; return (emulator, output, thread, result list)."""
    ready = threading.Event()
    found, result, out = [], [], io.StringIO()

    def run() -> None:
        result.append(main_emulator(argv, out=out, on_ready=lambda e: (found.append(e),
                                                                       ready.set())))
        ready.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10)
    return (found[0] if found else None), out, thread, result


def test_the_printed_target_and_options_reach_the_organization(tmp_path):
    emulator, out, thread, result = _start(
        ["--port", "0", "--user", USER, "--state", str(tmp_path / "org.json")])
    try:
        message = out.getvalue()
        target = re.search(r"target='([^']+)'", message).group(1)
        assert "auth='ntlm'" in message and PASSWORD not in message
        with RemoteShell.from_target(target, auth="ntlm", username=USER) as shell:
            assert shell.invoke("Get-ReceiveConnector")
    finally:
        emulator.stop()
        thread.join(5)

    assert result == [0]


def test_accounts_can_come_from_an_ntlm_user_file(tmp_path, monkeypatch):
    users = tmp_path / "users"
    users.write_text(f"LAB:tester:{PASSWORD}\n")
    monkeypatch.setenv("NTLM_USER_FILE", str(users))

    emulator, _, thread, result = _start(["--port", "0", "--auth", "basic",
                                          "--state", str(tmp_path / "org.json")])
    try:
        with RemoteShell.from_target(emulator.url, auth="basic", username=USER,
                                     allow_insecure_basic=True) as shell:
            assert shell.invoke("Get-ExchangeServer")
    finally:
        emulator.stop()
        thread.join(5)

    assert users.exists()  # a file the user gave is theirs to keep


def test_without_accounts_it_says_how_to_give_some(capsys):
    assert main_emulator(["--port", "0"]) == 2

    assert "NTLM_USER_FILE" in capsys.readouterr().err


def test_a_fault_flag_without_a_cmdlet_is_refused(capsys):
    assert main_emulator(["--port", "0", "--user", USER, "--drop-on", ":after"]) == 2

    assert "cmdlet" in capsys.readouterr().err


def test_fault_flags_arm_the_emulator(tmp_path):
    emulator, _, thread, _ = _start(["--port", "0", "--user", USER, "--state",
                                     str(tmp_path / "org.json"), "--drop-on",
                                     "Set-ReceiveConnector:after", "--delay-on",
                                     "Set-SendConnector:30", "--error-on", "Get-Queue",
                                     "--refuse-auth"])
    try:
        kinds = [(f.kind, f.cmdlet) for f in emulator.faults._faults]
    finally:
        emulator.stop()
        thread.join(5)

    assert kinds == [("drop", "Set-ReceiveConnector"), ("delay", "Set-SendConnector"),
                     ("error", "Get-Queue"), ("refuse-auth", None)]
