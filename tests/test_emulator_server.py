"""The emulator as pypsrp sees it: WSMan shells, PSRP pipelines, authentication and faults.

A small stand-in organization answers the cmdlets here, so these tests pin the protocol and
not the simulator's rules.
"""

from __future__ import annotations

import logging
import secrets
import threading

import pytest
from connector_runbooks.emulator import Fault, serve
from connector_runbooks.simulated.wire import CommandResult, MultiValued, WireError, WireObject
from pypsrp.complex_objects import PSCredential
from pypsrp.exceptions import AuthenticationError, WSManFaultError
from pypsrp.powershell import PowerShell, RunspacePool
from pypsrp.wsman import WSMan

USER = "LAB\\tester"
PASSWORD = "throwaway-" + secrets.token_hex(8)


class StandInOrganization:
    """Answers Get-Thing with ``count`` objects and echoes Set-Thing's parameters."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.count = 1

    def execute(self, cmdlet: str, params: dict) -> CommandResult:
        self.calls.append((cmdlet, params))
        if cmdlet == "Get-Thing":
            return CommandResult(output=[
                WireObject(["Lab.Thing", "System.Object"], f"thing {n}",
                           {"Name": f"thing {n}", "Values": MultiValued(["a", "b"])})
                for n in range(self.count)
            ])
        if cmdlet == "Set-Thing":
            return CommandResult(warnings=["The command completed successfully but no settings "
                                           "of 'thing 0' have been modified."])
        return CommandResult(errors=[WireError("unknown", cmdlet, category="ObjectNotFound",
                                               reason="CommandNotFoundException",
                                               terminating=True)])


@pytest.fixture
def organization() -> StandInOrganization:
    return StandInOrganization()


@pytest.fixture
def emulator(organization):
    with serve(port=0, users={USER: PASSWORD}, organization=organization) as running:
        yield running


def _wsman(emulator, auth: str = "ntlm", password: str = PASSWORD, path: str = "PowerShell/",
           **options) -> WSMan:
    return WSMan("127.0.0.1", port=emulator.port, path=path, ssl=False, auth=auth,
                 username=USER, password=password,
                 encryption="never" if auth == "basic" else "auto", no_proxy=True,
                 operation_timeout=options.pop("operation_timeout", 5),
                 read_timeout=options.pop("read_timeout", 10), **options)


def _pool(emulator, **options) -> RunspacePool:
    return RunspacePool(_wsman(emulator, **options), configuration_name="Microsoft.Exchange")


@pytest.mark.parametrize("auth", ["basic", "ntlm"])
def test_a_cmdlet_runs_over_both_authentication_methods(emulator, organization, auth):
    with _pool(emulator, auth=auth) as pool:
        ps = PowerShell(pool).add_cmdlet("Get-Thing").add_parameter("Identity", "thing 0")
        output = ps.invoke()

    assert [str(o) for o in output] == ["thing 0"]
    assert organization.calls == [("Get-Thing", {"Identity": "thing 0"})]


def test_hashtable_and_array_parameters_reach_the_organization_as_dict_and_list(
        emulator, organization):
    with _pool(emulator) as pool:
        PowerShell(pool).add_cmdlet("Set-Thing").add_parameter(
            "Values", {"Add": ["a", "b"], "Remove": []}).add_parameter("Confirm", False).invoke()

    assert organization.calls == [("Set-Thing", {"Values": {"Add": ["a", "b"], "Remove": []},
                                                 "Confirm": False})]


def test_warnings_reach_the_warning_stream(emulator):
    with _pool(emulator) as pool:
        ps = PowerShell(pool).add_cmdlet("Set-Thing")
        ps.invoke()

    assert [w.message for w in ps.streams.warning] == [
        "The command completed successfully but no settings of 'thing 0' have been modified."]


def test_multi_valued_properties_arrive_as_raw_lst_as_from_exchange(emulator):
    with _pool(emulator) as pool:
        (thing,) = PowerShell(pool).add_cmdlet("Get-Thing").invoke()

    values = thing.adapted_properties["Values"]
    assert values.property_sets == ["<LST><S>a</S><S>b</S></LST>"]
    # pypsrp keeps the type names as sent; Exchange sends them without "Deserialized.".
    assert thing.types == ["Lab.Thing", "System.Object"]


def test_many_output_objects_are_split_across_receives(emulator, organization):
    organization.count = 3000

    with _pool(emulator) as pool:
        output = PowerShell(pool).add_cmdlet("Get-Thing").invoke()

    assert len(output) == 3000
    assert str(output[-1]) == "thing 2999"


def test_a_large_parameter_arrives_through_command_and_send(emulator, organization):
    entries = [f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}" for n in range(40000)]

    with _pool(emulator) as pool:
        PowerShell(pool).add_cmdlet("Set-Thing").add_parameter("RemoteIPRanges", entries).invoke()

    assert organization.calls[0][1]["RemoteIPRanges"] == entries


def test_script_text_fails_with_the_no_language_error(emulator, organization):
    with _pool(emulator) as pool:
        ps = PowerShell(pool).add_script("Get-Thing | Where-Object { $_.Name }")
        ps.invoke()

    assert ps.had_errors
    (error,) = ps.streams.error
    assert str(error) == ("The syntax is not supported by this runspace. This can occur if the "
                          "runspace is in no-language mode.")
    assert error.fq_error == "ScriptsNotAllowed"
    assert organization.calls == []


def test_an_unknown_configuration_gets_winrms_resource_fault(emulator):
    pool = RunspacePool(_wsman(emulator))  # Microsoft.PowerShell, as plain WinRM would host

    with pytest.raises(WSManFaultError) as raised:
        pool.open()

    assert raised.value.code == 2150858811


def test_a_pool_poll_with_nothing_to_say_times_out_as_winrm_does(emulator):
    with _pool(emulator) as pool:
        with pytest.raises(WSManFaultError) as raised:
            pool.shell.receive("stdout", timeout=1)

    assert raised.value.code == 2150858793


def test_pipe_of_two_commands_binds_objects_by_identity(emulator, organization):
    with _pool(emulator) as pool:
        PowerShell(pool).add_cmdlet("Get-Thing").add_cmdlet("Set-Thing").add_parameter(
            "Confirm", False).invoke()

    assert organization.calls[1] == ("Set-Thing", {"Confirm": False, "Identity": "thing 0"})


def test_a_wrong_password_is_refused_for_both_methods(emulator):
    for auth in ("basic", "ntlm"):
        with pytest.raises(AuthenticationError):
            _pool(emulator, auth=auth, password="not-the-password").open()


def test_refusing_authentication_refuses_the_right_password(emulator):
    emulator.faults.add(Fault("refuse-auth"))

    with pytest.raises(AuthenticationError):
        _pool(emulator).open()


def test_two_clients_each_keep_their_own_ntlm_context(emulator):
    with _pool(emulator) as first, _pool(emulator) as second:
        for pool in (first, second, first):
            assert PowerShell(pool).add_cmdlet("Get-Thing").invoke()


def test_a_non_terminating_error_fault_completes_the_pipeline_with_an_error(emulator):
    emulator.faults.add(Fault("error", "Get-Thing"))

    with _pool(emulator) as pool:
        ps = PowerShell(pool).add_cmdlet("Get-Thing")
        ps.invoke()

    assert not ps.had_errors
    (error,) = ps.streams.error
    assert error.reason == "AdminLimitExceededException"


def test_the_emulator_listens_on_loopback_only(organization):
    with pytest.raises(ValueError, match="loopback"):
        serve("0.0.0.0", 0, users={USER: PASSWORD}, organization=organization)


def test_stopping_ends_connections_threads_and_the_account_file(organization):
    before = threading.active_count()
    emulator = serve(port=0, users={USER: PASSWORD}, organization=organization)
    pool = _pool(emulator)
    pool.open()
    account_file = emulator.accounts.path

    emulator.stop()

    assert not account_file.exists()
    for thread in threading.enumerate():
        if thread.name.startswith("emulator"):
            thread.join(timeout=2)
    assert threading.active_count() <= before + 1  # at most the client's idle socket reader


def test_the_password_never_reaches_the_emulators_logs(emulator, caplog):
    caplog.set_level(logging.DEBUG)
    with _pool(emulator, auth="basic") as pool:
        PowerShell(pool).add_cmdlet("Get-Thing").invoke()
    with pytest.raises(AuthenticationError):
        _pool(emulator, password=PASSWORD + "-wrong").open()

    assert PASSWORD not in caplog.text


def test_the_pypsrp_default_path_wsman_is_served_too(emulator):
    with _pool(emulator, path="wsman") as pool:
        assert PowerShell(pool).add_cmdlet("Get-Thing").invoke()


def test_is_alive_asks_whether_the_shell_still_exists(emulator):
    with _pool(emulator) as pool:
        assert pool.is_alive()


def test_a_credential_arrives_with_its_password_hidden_from_logs(emulator, organization,
                                                                 caplog):
    caplog.set_level(logging.DEBUG)
    secret = "smart-host-" + secrets.token_hex(8)

    with _pool(emulator) as pool:
        pool.exchange_keys()
        PowerShell(pool).add_cmdlet("Set-Thing").add_parameter(
            "AuthenticationCredential", PSCredential(username="relay", password=secret)).invoke()

    credential = organization.calls[0][1]["AuthenticationCredential"]
    assert credential["UserName"] == "relay"
    assert credential["Password"].reveal() == secret
    assert secret not in repr(organization.calls) and secret not in caplog.text
