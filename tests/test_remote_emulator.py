"""The remote shell over real WinRM/PSRP, against the simulated organization on loopback.

Each test starts an emulator (the shared `emulator` fixture) on a free port with its own
organization state file and a throwaway account, and compares with the in-process simulated
shell on the same state.
"""

from __future__ import annotations

import contextlib
import json
import logging

import pytest
from connector_runbooks import credentials
from connector_runbooks.emulator import Fault
from connector_runbooks.errors import (
    AuthenticationError,
    ExchangeError,
    OutcomeUnknown,
    RunbookError,
    TransportError,
)
from connector_runbooks.remote import RemoteShell
from connector_runbooks.shell import connect
from connector_runbooks.simulated.shell import SimulatedShell

RELAY = "EX01\\Relay Scanners"


@pytest.fixture
def open_shell(emulator, emulator_user):
    """Opens remote shells to the emulator, allowed to send changes (these tests drive the
    transport directly, not through a plan); closes them at the end of the test."""
    shells = []
    allowed = contextlib.ExitStack()

    def open_(auth: str = "ntlm", **options) -> RemoteShell:
        options.setdefault("operation_timeout", 2)
        options.setdefault("read_timeout", 4)
        shell = RemoteShell.from_target(emulator.url, auth=auth, username=emulator_user,
                                        allow_insecure_basic=auth == "basic", **options)
        shells.append(shell)
        allowed.enter_context(shell.changes_allowed())
        return shell

    yield open_
    allowed.close()
    for shell in shells:
        shell.close()


def _ranges(shell) -> list[str]:
    (connector,) = shell.invoke("Get-ReceiveConnector", Identity=RELAY)
    return connector["RemoteIPRanges"]


@pytest.mark.parametrize("auth", ["basic", "ntlm"])
def test_receive_connectors_read_remotely_equal_the_in_process_records(open_shell, state_path,
                                                                       auth):
    remote = open_shell(auth).invoke("Get-ReceiveConnector")

    assert remote == SimulatedShell(state_path).invoke("Get-ReceiveConnector")
    assert RELAY in [r["Identity"] for r in remote]


def test_a_hashtable_adds_and_removes_multi_valued_entries(open_shell, state_path):
    shell = open_shell()
    before = _ranges(shell)

    shell.invoke("Set-ReceiveConnector", Identity=RELAY,
                 RemoteIPRanges={"Add": ["192.0.2.10"], "Remove": [before[0]]})

    after = _ranges(shell)
    assert "192.0.2.10" in after and before[0] not in after
    assert after == SimulatedShell(state_path).invoke("Get-ReceiveConnector",
                                                 Identity=RELAY)[0]["RemoteIPRanges"]


def test_a_non_terminating_exchange_error_raises_with_its_reason(open_shell):
    with pytest.raises(ExchangeError) as raised:
        open_shell().invoke("Set-ReceiveConnector", Identity=RELAY,
                            RemoteIPRanges={"Add": ["300.1.1.1"]})

    error = raised.value
    assert (error.reason, error.category, error.terminating) == (
        "InvalidIPAddressFormat", "NotSpecified", False)
    assert error.target == "300.1.1.1"
    assert error.fully_qualified_error_id.startswith("[Server=EX01,")


def test_an_unknown_cmdlet_fails_with_command_not_found(open_shell):
    with pytest.raises(ExchangeError) as raised:
        open_shell().invoke("Get-Mailbox")

    assert (raised.value.reason, raised.value.category, raised.value.terminating) == (
        "CommandNotFoundException", "ObjectNotFound", True)
    assert raised.value.message.startswith("The term 'Get-Mailbox' is not recognized")


def test_an_unknown_parameter_fails_the_pipeline_with_a_binding_error(open_shell):
    with pytest.raises(ExchangeError) as raised:
        open_shell().invoke("Set-ReceiveConnector", Identity=RELAY, Bogus=1)

    assert raised.value.reason == "ParameterBindingException"
    assert raised.value.terminating


def test_script_text_is_never_sent(open_shell):
    shell = open_shell()

    with pytest.raises(RunbookError, match="scripts are never sent"):
        shell.invoke("Get-ReceiveConnector | Where-Object { $_.Enabled }")

    assert shell.runspace_pool_ids == []


def test_a_no_change_warning_reaches_the_transcript(open_shell):
    shell = open_shell()
    shell.invoke("Set-ReceiveConnector", Identity=RELAY, Comment="relay for scanners")

    shell.invoke("Set-ReceiveConnector", Identity=RELAY, Comment="relay for scanners")

    assert shell.transcript.entries[-1].warnings == [
        f"The command completed successfully but no settings of '{RELAY}' have been modified."]


def test_one_runspace_pool_serves_every_call_of_a_run(open_shell, emulator):
    shell = open_shell()
    for _ in range(5):
        _ranges(shell)
    shell.invoke("Set-ReceiveConnector", Identity=RELAY, RemoteIPRanges={"Add": ["192.0.2.11"]})
    _ranges(shell)

    assert len(shell.runspace_pool_ids) == 1
    assert list(emulator.service.shells) == shell.runspace_pool_ids
    shell.close()
    assert emulator.service.shells == {}


@pytest.mark.parametrize("auth", ["basic", "ntlm"])
def test_a_wrong_password_is_a_clear_authentication_error(open_shell, monkeypatch, auth,
                                                          emulator_user, throwaway_password):
    wrong = throwaway_password + "-wrong"
    monkeypatch.setenv(credentials.PASSWORD_ENV, wrong)

    with pytest.raises(AuthenticationError) as raised:
        open_shell(auth).invoke("Get-ReceiveConnector")

    text = str(raised.value)
    assert f"refused the credentials of {emulator_user} ({auth} authentication" in text
    assert wrong not in text and throwaway_password not in text


def test_a_refusing_endpoint_is_an_authentication_error(open_shell, emulator):
    emulator.faults.add(Fault("refuse-auth"))

    with pytest.raises(AuthenticationError):
        open_shell().invoke("Get-ReceiveConnector")


def test_a_set_whose_connection_drops_after_running_is_unknown_until_read_again(
        open_shell, emulator):
    shell = open_shell()
    _ranges(shell)
    emulator.faults.add(Fault("drop", "Set-ReceiveConnector", when="after"))

    with pytest.raises(OutcomeUnknown) as raised:
        shell.invoke("Set-ReceiveConnector", Identity=RELAY,
                     RemoteIPRanges={"Add": ["192.0.2.12"]})
    shell.reconnect()

    assert raised.value.cmdlet == "Set-ReceiveConnector"
    assert shell.transcript.entries[-1].outcome == "unknown"
    assert "192.0.2.12" in _ranges(shell)
    assert len(shell.runspace_pool_ids) == 2
    assert list(emulator.service.shells) == shell.runspace_pool_ids[1:]


def test_a_set_whose_connection_drops_before_running_changes_nothing(open_shell, emulator):
    shell = open_shell()
    before = _ranges(shell)
    emulator.faults.add(Fault("drop", "Set-ReceiveConnector", when="before"))

    with pytest.raises(OutcomeUnknown):
        shell.invoke("Set-ReceiveConnector", Identity=RELAY,
                     RemoteIPRanges={"Add": ["192.0.2.13"]})
    shell.reconnect()

    assert _ranges(shell) == before


def test_a_set_answered_after_the_read_timeout_is_unknown(open_shell, emulator):
    shell = open_shell(operation_timeout=1, read_timeout=1.5)
    emulator.faults.add(Fault("delay", "Set-ReceiveConnector", seconds=3))

    with pytest.raises(OutcomeUnknown):
        shell.invoke("Set-ReceiveConnector", Identity=RELAY,
                     RemoteIPRanges={"Add": ["192.0.2.14"]})

    assert "192.0.2.14" in _ranges(shell)


def test_a_dropped_read_is_a_transport_error_and_the_next_call_reconnects(open_shell, emulator):
    shell = open_shell()
    emulator.faults.add(Fault("drop", "Get-ReceiveConnector"))

    with pytest.raises(TransportError) as raised:
        _ranges(shell)

    assert not isinstance(raised.value, OutcomeUnknown)
    assert _ranges(shell)
    assert len(shell.runspace_pool_ids) == 2


def test_a_non_terminating_error_fault_becomes_an_exchange_error(open_shell, emulator):
    emulator.faults.add(Fault("error", "Get-ReceiveConnector"))

    with pytest.raises(ExchangeError) as raised:
        _ranges(open_shell())

    assert raised.value.reason == "AdminLimitExceededException"
    assert not raised.value.terminating


def test_connect_reaches_the_emulator_through_the_target_registry(emulator, emulator_user):
    with connect(emulator.url, auth="ntlm", username=emulator_user) as shell:
        assert shell.transport == "remote"
        assert _ranges(shell)


def test_the_password_never_reaches_the_transcript_or_logs(open_shell, emulator, monkeypatch,
                                                           caplog, throwaway_password):
    caplog.set_level(logging.DEBUG)
    for auth in ("basic", "ntlm"):
        shell = open_shell(auth)
        _ranges(shell)
        shell.invoke("Set-ReceiveConnector", Identity=RELAY, Comment=f"set over {auth}")
        emulator.faults.add(Fault("drop", "Set-ReceiveConnector", when="after"))
        with pytest.raises(OutcomeUnknown):
            shell.invoke("Set-ReceiveConnector", Identity=RELAY, Comment="dropped")
        shell.reconnect()
        _ranges(shell)
        shell.close()
        transcript = json.dumps(shell.transcript.to_dict(), default=str)
        assert throwaway_password not in transcript
        assert throwaway_password not in repr(shell.credentials)
    monkeypatch.setenv(credentials.PASSWORD_ENV, throwaway_password + "-wrong")
    with pytest.raises(AuthenticationError):
        _ranges(open_shell("ntlm"))

    assert caplog.records
    assert throwaway_password not in caplog.text
