"""The simulated organization's send connector rules (exchange-connectors.md 2.1, 3, 4)."""

from __future__ import annotations

import pytest
from connector_runbooks.simulated import Organization

INTERNET = "To Internet"


def props(org: Organization, identity: str = INTERNET) -> dict:
    result = org.execute("Get-SendConnector", {"Identity": identity})
    assert not result.errors, result.errors
    return result.output[0].properties


def only_error(result):
    assert len(result.errors) == 1, result
    return result.errors[0]


def set_internet(org: Organization, **parameters):
    return org.execute("Set-SendConnector", {"Identity": INTERNET, **parameters})


# -- reading ----------------------------------------------------------------------------------


def test_demo_send_connectors_show_wire_shapes(sim_org):
    internet = props(sim_org)
    assert internet["Identity"] == INTERNET
    assert internet["AddressSpaces"].values == ["SMTP:*;1"]
    assert internet["SourceTransportServers"].values == ["EX01", "EX02"]
    assert internet["SmartHosts"].values == ["smtp1.relay.example.net", "[203.0.113.25]"]
    assert internet["SmartHostsString"] == "smtp1.relay.example.net,[203.0.113.25]"
    assert internet["DNSRoutingEnabled"] is False
    assert internet["MaxMessageSize"] == "35 MB (36,700,160 bytes)"
    edge = props(sim_org, "EdgeSync - Default-First-Site-Name to Internet")
    assert edge["AddressSpaces"].values == ["SMTP:*;100"]
    assert edge["SourceTransportServers"].values == ["EDGE01"]


def test_send_connector_type_chain_ends_with_system_object(sim_org):
    obj = sim_org.execute("Get-SendConnector", {"Identity": INTERNET}).output[0]
    assert obj.type_names[0].endswith("SmtpSendConnectorConfig")
    assert obj.type_names[-1] == "System.Object"
    assert obj.to_string == INTERNET


def test_unknown_send_connector_is_not_found(sim_org):
    error = only_error(sim_org.execute("Get-SendConnector", {"Identity": "To Mars"}))
    assert error.reason == "ManagementObjectNotFoundException"


def test_send_connector_found_by_guid(sim_org):
    guid = props(sim_org)["Guid"]
    assert [o.to_string for o in sim_org.execute("Get-SendConnector",
                                                 {"Identity": guid}).output] == [INTERNET]


# -- SourceTransportServers (4.4) -------------------------------------------------------------


def test_plain_server_name_replaces_the_source_servers(sim_org):
    set_internet(sim_org, SourceTransportServers="EX03")
    assert props(sim_org)["SourceTransportServers"].values == ["EX03"]


def test_hashtable_adds_and_removes_source_servers(sim_org):
    result = set_internet(sim_org, SourceTransportServers={"Add": "ex03.corp.example.com",
                                                           "Remove": "EX01"})
    assert not result.errors
    assert props(sim_org)["SourceTransportServers"].values == ["EX03", "EX02"]


def test_removing_every_source_server_is_refused(sim_org):
    error = only_error(set_internet(sim_org, SourceTransportServers={"Remove": ["EX01", "EX02"]}))
    assert error.reason == "SendConnectorSourceServersNotSetException"
    assert props(sim_org)["SourceTransportServers"].values == ["EX01", "EX02"]


def test_an_unknown_server_is_skipped_with_a_warning(sim_org):
    result = set_internet(sim_org, SourceTransportServers={"Add": ["EX03", "EX99"]})
    assert not result.errors
    assert any("EX99" in w for w in result.warnings)
    assert props(sim_org)["SourceTransportServers"].values == ["EX03", "EX01", "EX02"]


def test_only_unknown_servers_fail(sim_org):
    error = only_error(set_internet(sim_org, SourceTransportServers={"Add": "EX99"}))
    assert error.reason == "SendConnectorValidSourceServerNotFoundException"


def test_edge_and_mailbox_source_servers_cannot_be_mixed(sim_org):
    error = only_error(set_internet(sim_org, SourceTransportServers={"Add": "EDGE01"}))
    assert error.reason == "SendConnectorMixedSourceServerRolesException"


def test_adding_a_present_source_server_is_refused(sim_org):
    error = only_error(set_internet(sim_org, SourceTransportServers={"Add": "ex01"}))
    assert error.reason == "ValueAlreadyPresentException"


# -- SmartHosts and DNSRoutingEnabled (4.3, 4.5 rules 2-3) ------------------------------------


def test_ip_smart_hosts_are_shown_in_brackets(sim_org):
    set_internet(sim_org, SmartHosts={"Add": "198.51.100.7"})
    assert props(sim_org)["SmartHosts"].values[0] == "[198.51.100.7]"


def test_removing_a_bracketed_ip_by_its_bare_address(sim_org):
    assert not set_internet(sim_org, SmartHosts={"Remove": "203.0.113.25"}).errors
    assert props(sim_org)["SmartHosts"].values == ["smtp1.relay.example.net"]


def test_removing_the_last_smart_host_with_dns_routing_off_is_refused(sim_org):
    error = only_error(set_internet(sim_org, SmartHosts={
        "Remove": ["smtp1.relay.example.net", "[203.0.113.25]"]}))
    assert error.reason == "SmartHostNotSet"


def test_turning_dns_routing_off_without_smart_hosts_is_refused(sim_org):
    error = only_error(sim_org.execute("Set-SendConnector",
                                       {"Identity": "To Partner", "DNSRoutingEnabled": False}))
    assert error.reason == "SmartHostNotSet"


def test_turning_dns_routing_off_with_smart_hosts_in_the_same_call_works(sim_org):
    result = sim_org.execute("Set-SendConnector", {
        "Identity": "To Partner", "DNSRoutingEnabled": False,
        "SmartHosts": {"Add": "relay.partner.example.net"}})
    assert not result.errors
    assert props(sim_org, "To Partner")["SmartHosts"].values == ["relay.partner.example.net"]


def test_smart_hosts_on_a_dns_routed_connector_are_refused(sim_org):
    error = only_error(sim_org.execute("Set-SendConnector", {
        "Identity": "To Partner", "SmartHosts": {"Add": "relay.partner.example.net"}}))
    assert error.reason == "SmartHostNotSet"


def test_turning_dns_routing_on_needs_the_smart_hosts_cleared(sim_org):
    assert only_error(set_internet(sim_org, DNSRoutingEnabled=True)).reason == "SmartHostNotSet"
    assert not set_internet(sim_org, DNSRoutingEnabled=True, SmartHosts=None).errors


@pytest.mark.parametrize("value", ["not a host", "smtp_1.example.net", "[smtp.example.net]"])
def test_malformed_smart_hosts_are_refused(sim_org, value):
    error = only_error(set_internet(sim_org, SmartHosts={"Add": value}))
    assert error.reason == "InvalidSmartHost"


# -- AddressSpaces (4.2) ----------------------------------------------------------------------


@pytest.mark.parametrize("given, shown", [
    ("example.com", "SMTP:example.com;1"),
    ("SMTP:*.example.com;5", "SMTP:*.example.com;5"),
    ("smtp:example.org", "smtp:example.org;1"),
    ("example.net;2", "SMTP:example.net;2"),
])
def test_address_spaces_are_shown_as_type_space_cost(sim_org, given, shown):
    set_internet(sim_org, AddressSpaces={"Add": given})
    assert props(sim_org)["AddressSpaces"].values[0] == shown


@pytest.mark.parametrize("value", ["*example.com", "SMTP:example.com;0", "SMTP:example.com;101",
                                   "SM TP:example.com"])
def test_malformed_address_spaces_are_refused(sim_org, value):
    assert only_error(set_internet(sim_org, AddressSpaces={"Add": value})).reason == (
        "InvalidAddressSpace")


def test_removing_every_address_space_is_refused(sim_org):
    error = only_error(set_internet(sim_org, AddressSpaces={"Remove": "SMTP:*;1"}))
    assert error.reason == "NoAddressSpaces"


# -- other rules (4.5) ------------------------------------------------------------------------


def test_basic_auth_without_a_credential_is_refused(sim_org):
    error = only_error(set_internet(sim_org, SmartHostAuthMechanism="BasicAuth"))
    assert error.reason == "AuthenticationCredentialNotSet"


def test_basic_auth_with_a_credential_keeps_no_secret(sim_org, tmp_path):
    result = set_internet(sim_org, SmartHostAuthMechanism="BasicAuth",
                          AuthenticationCredential={"UserName": "relay", "Password": "s3cret!"})
    assert not result.errors
    assert "s3cret!" not in sim_org.state_path.read_text()


def test_tls_auth_level_without_require_tls_is_refused(sim_org):
    error = only_error(set_internet(sim_org, TlsAuthLevel="CertificateValidation"))
    assert error.reason == "TlsAuthLevelWithRequireTlsDisabled"


def test_send_set_that_changes_nothing_warns(sim_org):
    result = set_internet(sim_org, SourceTransportServers=["EX02", "EX01"])
    assert result.warnings == ["The command completed successfully but no settings of "
                               "'To Internet' have been modified."]


# -- New- and Remove- -------------------------------------------------------------------------


def test_new_send_connector_has_the_defaults(sim_org):
    result = sim_org.execute("New-SendConnector", {
        "Name": "To Fabrikam", "Internet": True, "AddressSpaces": "fabrikam.example.com",
        "SourceTransportServers": ["EX02", "EX03"]})
    assert not result.errors
    new = result.output[0].properties
    assert new["AddressSpaces"].values == ["SMTP:fabrikam.example.com;1"]
    assert new["DNSRoutingEnabled"] is True
    assert new["MaxMessageSize"] == "35 MB (36,700,160 bytes)"


def test_new_internal_connector_is_unlimited_in_size(sim_org):
    new = sim_org.execute("New-SendConnector", {
        "Name": "To Legacy", "Usage": "Internal", "AddressSpaces": "legacy.example.com",
        "DNSRoutingEnabled": False, "SmartHosts": "10.0.9.9"}).output[0].properties
    assert new["MaxMessageSize"] == "Unlimited"
    assert new["SourceTransportServers"].values == ["EX01"]


def test_new_without_address_spaces_fails_binding(sim_org):
    error = only_error(sim_org.execute("New-SendConnector", {"Name": "X"}))
    assert error.terminating and "AddressSpaces" in error.message


def test_new_with_dns_routing_off_needs_smart_hosts_in_the_same_call(sim_org):
    error = only_error(sim_org.execute("New-SendConnector", {
        "Name": "X", "AddressSpaces": "x.example.com", "DNSRoutingEnabled": False}))
    assert error.reason == "SmartHostNotSet"


def test_new_with_a_taken_name_is_refused(sim_org):
    error = only_error(sim_org.execute("New-SendConnector",
                                       {"Name": "to internet", "AddressSpaces": "x.example.com"}))
    assert error.reason == "ADObjectAlreadyExistsException"


def test_remove_send_connector_needs_confirm_false(sim_org):
    assert sim_org.execute("Remove-SendConnector", {"Identity": INTERNET}).errors[0].terminating
    assert not sim_org.execute("Remove-SendConnector",
                               {"Identity": INTERNET, "Confirm": False}).errors
    assert only_error(sim_org.execute("Get-SendConnector", {"Identity": INTERNET}))
