"""The simulated organization as a whole: state file, reset, binding, servers, services."""

from __future__ import annotations

import json

import pytest
from connector_runbooks.errors import ExchangeError
from connector_runbooks.shell import connect
from connector_runbooks.simulated import Organization, default_state_path, reset_state

RELAY = "EX01\\Relay Scanners"


def test_state_survives_a_new_organization_on_the_same_file(tmp_path):
    path = tmp_path / "org.json"
    Organization(path).execute("Set-ReceiveConnector",
                               {"Identity": RELAY, "RemoteIPRanges": {"Add": "10.9.9.9"}})
    again = Organization(path).execute("Get-ReceiveConnector", {"Identity": RELAY})
    assert "10.9.9.9" in again.output[0].properties["RemoteIPRanges"].values


def test_every_call_reads_the_file_again(tmp_path):
    path = tmp_path / "org.json"
    reader, writer = Organization(path), Organization(path)
    writer.execute("Set-ReceiveConnector", {"Identity": RELAY, "Comment": "changed"})
    assert reader.execute("Get-ReceiveConnector",
                          {"Identity": RELAY}).output[0].properties["Comment"] == "changed"


def test_a_failed_call_leaves_the_file_untouched(tmp_path):
    path = tmp_path / "org.json"
    org = Organization(path)
    before = path.read_bytes()
    org.execute("Set-ReceiveConnector", {"Identity": RELAY, "RemoteIPRanges": []})
    assert path.read_bytes() == before


def test_reset_restores_the_demo_organization(tmp_path):
    path = tmp_path / "org.json"
    org = Organization(path)
    org.execute("Remove-ReceiveConnector", {"Identity": RELAY, "Confirm": False})
    reset_state(path)
    assert org.execute("Get-ReceiveConnector", {"Identity": RELAY}).output


def test_default_state_path_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CONNECTOR_RUNBOOKS_STATE", str(tmp_path / "x.json"))
    assert default_state_path() == tmp_path / "x.json"
    monkeypatch.delenv("CONNECTOR_RUNBOOKS_STATE")
    assert default_state_path().name == "simulated-organization.json"


def test_state_file_is_json_with_the_demo_servers(tmp_path):
    path = tmp_path / "org.json"
    Organization(path)
    names = [s["Name"] for s in json.loads(path.read_text())["Servers"]]
    assert names == ["EX01", "EX02", "EX03", "EDGE01"]


def test_unknown_cmdlet_is_a_terminating_command_not_found(sim_org):
    error = sim_org.execute("Get-Nothing", {}).errors[0]
    assert error.terminating and error.reason == "CommandNotFoundException"
    assert error.category == "ObjectNotFound"
    assert error.message.startswith("The term 'Get-Nothing' is not recognized as the name of a "
                                    "cmdlet")


def test_unknown_parameter_is_a_terminating_binding_error(sim_org):
    error = sim_org.execute("Get-ReceiveConnector", {"Identiti": RELAY}).errors[0]
    assert error.terminating and error.reason == "ParameterBindingException"
    assert error.category == "InvalidArgument"
    assert error.message == "A parameter cannot be found that matches parameter name 'Identiti'."
    assert error.fully_qualified_error_id == "NamedParameterNotFound,Get-ReceiveConnector"


def test_parameter_names_ignore_letter_case(sim_org):
    assert sim_org.execute("get-receiveconnector", {"IDENTITY": RELAY}).output


def test_whatif_changes_nothing(sim_org):
    sim_org.execute("Set-ReceiveConnector", {"Identity": RELAY, "Comment": "x", "WhatIf": True})
    props = sim_org.execute("Get-ReceiveConnector", {"Identity": RELAY}).output[0].properties
    assert props["Comment"] is None


# -- servers and transport services -----------------------------------------------------------


def test_exchange_servers_have_roles_versions_and_addresses(sim_org):
    servers = {o.to_string: o.properties for o in sim_org.execute("Get-ExchangeServer", {}).output}
    assert servers["EX01"]["AdminDisplayVersion"] == "Version 15.1 (Build 2507.6)"
    assert servers["EX02"]["AdminDisplayVersion"] == "Version 15.2 (Build 1544.4)"
    assert servers["EDGE01"]["ServerRole"] == "Edge" and servers["EDGE01"]["IsEdgeServer"]
    assert servers["EX03"]["IPAddresses"].values == ["10.0.1.13"]
    assert servers["EX01"]["Fqdn"] == "ex01.corp.example.com"


def test_unknown_server_is_not_found(sim_org):
    error = sim_org.execute("Get-ExchangeServer", {"Identity": "EX09"}).errors[0]
    assert error.reason == "ManagementObjectNotFoundException"


def test_transport_service_gives_log_paths_and_limits(sim_org):
    props = sim_org.execute("Get-TransportService", {"Identity": "EX02"}).output[0].properties
    assert props["ReceiveProtocolLogPath"] == (
        "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\TransportRoles\\Logs\\Hub\\"
        "ProtocolLog\\SmtpReceive")
    assert props["ReceiveProtocolLogMaxAge"] == "30.00:00:00"
    assert props["ReceiveProtocolLogMaxDirectorySize"] == "250 MB (262,144,000 bytes)"
    assert props["MessageExpirationTimeout"] == "2.00:00:00"


def test_frontend_transport_service_logs_in_the_frontend_folder(sim_org):
    services = sim_org.execute("Get-FrontendTransportService", {}).output
    assert [s.to_string for s in services] == ["EX01", "EX02", "EX03"]
    assert services[0].properties["SendProtocolLogPath"].endswith(
        "\\Logs\\FrontEnd\\ProtocolLog\\SmtpSend")


# -- through the shell ------------------------------------------------------------------------


def test_connect_simulated_path_runs_against_that_file(tmp_path):
    path = tmp_path / "org.json"
    shell = connect("simulated:" + str(path))
    records = shell.invoke("Get-ReceiveConnector", Identity=RELAY)
    assert records[0]["RemoteIPRanges"][0] == "10.20.1.11"
    assert records[0]["MaxMessageSize"] == 37748736
    everything = records[0]["RemoteIPRanges"]
    with shell.changes_allowed(), pytest.raises(ExchangeError) as caught:
        shell.invoke("Set-ReceiveConnector", Identity=RELAY, RemoteIPRanges={"Remove": everything})
    assert caught.value.message == "You must provide a value for this property."
    assert path.exists()


def test_a_null_identity_for_a_change_fails_binding(sim_org):
    error = sim_org.execute("Set-ReceiveConnector", {"Identity": None, "Comment": "x"}).errors[0]
    assert error.terminating
    assert error.message == "Cannot bind argument to parameter 'Identity' because it is null."
