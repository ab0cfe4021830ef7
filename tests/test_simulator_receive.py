"""The simulated organization's receive connector rules (exchange-connectors.md 2, 3, 5)."""

from __future__ import annotations

import pytest
from connector_runbooks.simulated import Organization
from connector_runbooks.simulated.demo import RELAY_SCANNERS_EX01

RELAY = "EX01\\Relay Scanners"


def ranges(org: Organization, identity: str = RELAY) -> list[str]:
    result = org.execute("Get-ReceiveConnector", {"Identity": identity})
    assert not result.errors, result.errors
    return list(result.output[0].properties["RemoteIPRanges"].values)


def only_error(result):
    assert len(result.errors) == 1, result
    return result.errors[0]


# -- lookups ----------------------------------------------------------------------------------


def test_identity_server_backslash_name_finds_one_connector(sim_org):
    result = sim_org.execute("Get-ReceiveConnector", {"Identity": RELAY})
    assert [o.to_string for o in result.output] == [RELAY]
    assert result.output[0].properties["Identity"] == RELAY


def test_a_unique_name_finds_the_connector(sim_org):
    result = sim_org.execute("Get-ReceiveConnector", {"identity": "Relay Applications"})
    assert [o.to_string for o in result.output] == ["EX01\\Relay Applications"]


def test_dn_and_guid_find_the_connector(sim_org):
    relay = sim_org.execute("Get-ReceiveConnector", {"Identity": RELAY}).output[0].properties
    for identity in (relay["DistinguishedName"], relay["Guid"]):
        found = sim_org.execute("Get-ReceiveConnector", {"Identity": identity}).output
        assert [o.to_string for o in found] == [RELAY]


def test_unknown_identity_is_not_found_naming_the_domain_controller(sim_org):
    error = only_error(sim_org.execute("Get-ReceiveConnector", {"Identity": "EX01\\Nope"}))
    assert error.reason == "ManagementObjectNotFoundException"
    assert error.message == ("The operation couldn't be performed because object 'EX01\\Nope' "
                             "couldn't be found on 'dc01.corp.example.com'.")
    assert not error.terminating


def test_a_name_on_two_servers_is_ambiguous_and_names_the_matches(sim_org):
    error = only_error(sim_org.execute("Get-ReceiveConnector", {"Identity": "Relay Scanners"}))
    assert error.reason == "ManagementObjectAmbiguousException"
    assert "EX01\\Relay Scanners" in error.message and "EX02\\Relay Scanners" in error.message


def test_identity_none_returns_every_connector(sim_org):
    result = sim_org.execute("Get-ReceiveConnector", {"Identity": None})
    assert len(result.output) == 3 * 5 + 3


def test_server_lists_only_that_servers_connectors(sim_org):
    result = sim_org.execute("Get-ReceiveConnector", {"Server": "EX02"})
    assert {o.properties["Server"] for o in result.output} == {"EX02"}
    assert len(result.output) == 6


def test_identity_and_server_together_fail_binding(sim_org):
    error = only_error(sim_org.execute("Get-ReceiveConnector",
                                       {"Identity": RELAY, "Server": "EX01"}))
    assert error.terminating and error.reason == "ParameterBindingException"


# -- wire shapes ------------------------------------------------------------------------------


def test_default_frontend_has_setup_values_in_wire_shapes(sim_org):
    props = sim_org.execute("Get-ReceiveConnector",
                            {"Identity": "EX02\\Default Frontend EX02"}).output[0].properties
    assert props["Bindings"].values == ["[::]:25", "0.0.0.0:25"]
    assert props["Bindings"].element_type == "Microsoft.Exchange.Data.IPBinding"
    assert props["AuthMechanism"] == (
        "Tls, Integrated, BasicAuth, BasicAuthRequireTLS, ExchangeServer")
    assert props["PermissionGroups"] == "AnonymousUsers, ExchangeServers, ExchangeLegacyServers"
    assert props["MaxMessageSize"] == "36 MB (37,748,736 bytes)"
    assert props["ProtocolLoggingLevel"] == "Verbose"
    assert props["TransportRole"] == "FrontendTransport"


def test_receive_connector_type_chain_ends_with_system_object(sim_org):
    obj = sim_org.execute("Get-ReceiveConnector", {"Identity": RELAY}).output[0]
    assert obj.type_names[0] == (
        "Microsoft.Exchange.Data.Directory.SystemConfiguration.ReceiveConnector")
    assert obj.type_names[-1] == "System.Object"


# -- RemoteIPRanges: replace and edit ---------------------------------------------------------


def test_plain_value_replaces_the_whole_list(sim_org):
    sim_org.execute("Set-ReceiveConnector", {"Identity": RELAY, "RemoteIPRanges": "10.9.9.9"})
    assert ranges(sim_org) == ["10.9.9.9"]


def test_hashtable_add_and_remove_edit_the_list(sim_org):
    result = sim_org.execute("Set-ReceiveConnector", {
        "Identity": RELAY, "RemoteIPRanges": {"add": ["10.9.9.9", "10.9.9.10"],
                                              "REMOVE": "10.20.1.11"}})
    assert not result.errors and not result.warnings
    after = ranges(sim_org)
    assert after[:2] == ["10.9.9.9", "10.9.9.10"]
    assert "10.20.1.11" not in after
    assert len(after) == len(RELAY_SCANNERS_EX01) + 1


def test_removing_every_entry_fails_and_changes_nothing(sim_org):
    result = sim_org.execute("Set-ReceiveConnector", {
        "Identity": RELAY, "RemoteIPRanges": {"Remove": list(RELAY_SCANNERS_EX01)}})
    error = only_error(result)
    assert error.message == "You must provide a value for this property."
    assert ranges(sim_org) == RELAY_SCANNERS_EX01


def test_an_empty_plain_list_fails_with_the_same_text(sim_org):
    error = only_error(sim_org.execute("Set-ReceiveConnector",
                                       {"Identity": RELAY, "RemoteIPRanges": []}))
    assert error.message == "You must provide a value for this property."


def test_cidr_and_range_with_equal_bounds_are_one_entry(sim_org):
    sim_org.execute("Set-ReceiveConnector",
                    {"Identity": RELAY, "RemoteIPRanges": {"Add": "10.0.0.0/30"}})
    error = only_error(sim_org.execute("Set-ReceiveConnector", {
        "Identity": RELAY, "RemoteIPRanges": {"Add": "10.0.0.0-10.0.0.3"}}))
    assert error.reason == "ValueAlreadyPresentException"
    assert "10.0.0.0-10.0.0.3" in error.message


def test_removing_by_the_other_form_of_equal_bounds_removes_the_entry(sim_org):
    result = sim_org.execute("Set-ReceiveConnector", {
        "Identity": RELAY, "RemoteIPRanges": {"Remove": "10.30.0.0-10.30.0.15"}})
    assert not result.errors
    assert "10.30.0.0/28" not in ranges(sim_org)


def test_removing_an_absent_value_is_refused_naming_it(sim_org):
    error = only_error(sim_org.execute(
        "Set-ReceiveConnector", {"Identity": RELAY, "RemoteIPRanges": {"Remove": "10.99.0.1"}}))
    assert error.reason == "ValueNotPresentException" and "10.99.0.1" in error.message


@pytest.mark.parametrize("value, identifier", [
    ("10.0.0.300", "InvalidIPAddressFormat"),
    ("10.0.0.9-10.0.0.1", "InvalidIPRange"),
    ("10.0.0.1-fd00::1", "AddressFamilyMismatch"),
    ("10.0.0.0/33", "InvalidCIDRLength"),
    ("10.0.0.0(255.0.255.0)", "InvalidIPAddressMask"),
    ("10.0.0.0(255.255.255.0", "InvalidIPRangeFormat"),
    ("10.0.0.1, 10.0.0.2", "InvalidIPAddressFormat"),
    ("\u201c10.0.0.5\u201d", "InvalidIPAddressFormat"),
    (" 10.0.0.5", "InvalidIPAddressFormat"),
])
def test_malformed_entries_are_refused_with_exchange_identifiers(sim_org, value, identifier):
    error = only_error(sim_org.execute("Set-ReceiveConnector",
                                       {"Identity": RELAY, "RemoteIPRanges": {"Add": value}}))
    assert error.reason == identifier
    assert f"[FailureCategory=Cmdlet-{identifier}]" in error.fully_qualified_error_id
    assert ranges(sim_org) == RELAY_SCANNERS_EX01


def test_cidr_with_a_host_address_displays_the_network(sim_org):
    sim_org.execute("Set-ReceiveConnector",
                    {"Identity": RELAY, "RemoteIPRanges": {"Add": "192.0.2.77/24"}})
    assert ranges(sim_org)[0] == "192.0.2.0/24"


def test_more_than_1200_entries_exceed_the_admin_limit(sim_org):
    entries = [f"10.50.{i // 250}.{i % 250 + 1}" for i in range(1201)]
    error = only_error(sim_org.execute("Set-ReceiveConnector",
                                       {"Identity": RELAY, "RemoteIPRanges": entries}))
    assert error.reason == "AdminLimitExceededException"
    assert error.message == "The administrative limit for this request was exceeded."
    assert error.category == "NotSpecified"
    assert ranges(sim_org) == RELAY_SCANNERS_EX01


def test_1200_entries_fit(sim_org):
    entries = [f"10.50.{i // 250}.{i % 250 + 1}" for i in range(1200)]
    assert not sim_org.execute("Set-ReceiveConnector",
                               {"Identity": RELAY, "RemoteIPRanges": entries}).errors


def test_error_id_has_the_on_premises_form(sim_org):
    error = only_error(sim_org.execute("Set-ReceiveConnector",
                                       {"Identity": RELAY, "RemoteIPRanges": []}))
    assert error.fully_qualified_error_id.startswith("[Server=EX01,RequestId=")
    assert error.fully_qualified_error_id.endswith(
        ",Microsoft.Exchange.Management.SystemConfigurationTasks.SetReceiveConnector")


# -- conflicts between connectors of one server (5.6) -----------------------------------------


def test_shared_binding_with_another_role_is_a_role_conflict(sim_org):
    error = only_error(sim_org.execute("Set-ReceiveConnector",
                                       {"Identity": RELAY, "TransportRole": "HubTransport"}))
    assert error.reason == "ReceiveConnectorRoleConflictException"
    assert error.message == (
        'The values that you specified for the Bindings and RemoteIPRanges parameters conflict '
        'with the settings on Receive connector "EX01\\Default Frontend EX01". Receive '
        "connectors assigned to different Transport roles on a single server must listen on "
        "unique local IP address & port bindings.")


def test_partial_overlap_on_a_shared_binding_is_a_mapping_conflict(sim_org):
    # Both relay connectors listen on 0.0.0.0:25 in the FrontendTransport role; this range cuts
    # through Relay Scanners' 10.20.3.10-10.20.3.20 without containing it or lying inside it.
    error = only_error(sim_org.execute("Set-ReceiveConnector", {
        "Identity": "EX01\\Relay Applications",
        "RemoteIPRanges": {"Add": "10.20.3.15-10.20.3.30"}}))
    assert error.reason == "ConnectorMappingConflictException"
    assert "EX01\\Relay Scanners" in error.message


def test_the_same_range_on_the_same_binding_is_a_mapping_conflict(sim_org):
    error = only_error(sim_org.execute("Set-ReceiveConnector", {
        "Identity": "EX01\\Relay Applications", "RemoteIPRanges": {"Add": "10.20.1.11"}}))
    assert error.reason == "ConnectorMappingConflictException"


def test_a_range_inside_another_connectors_range_is_allowed(sim_org):
    result = sim_org.execute("Set-ReceiveConnector", {
        "Identity": "EX01\\Relay Applications", "RemoteIPRanges": {"Add": "10.20.3.12"}})
    assert not result.errors


def test_the_same_range_on_another_server_is_allowed(sim_org):
    result = sim_org.execute("Set-ReceiveConnector", {
        "Identity": "EX02\\Relay Scanners", "RemoteIPRanges": {"Add": "10.20.1.13"}})
    assert not result.errors


# -- other settings ---------------------------------------------------------------------------


def test_set_that_changes_nothing_warns(sim_org):
    result = sim_org.execute("Set-ReceiveConnector",
                             {"Identity": RELAY, "ProtocolLoggingLevel": "verbose"})
    assert not result.errors
    assert result.warnings == ["The command completed successfully but no settings of "
                               "'EX01\\Relay Scanners' have been modified."]


def test_scalar_settings_are_stored_and_shown(sim_org):
    sim_org.execute("Set-ReceiveConnector", {
        "Identity": "EX01\\Relay Applications", "ProtocolLoggingLevel": "Verbose",
        "PermissionGroups": ["ExchangeServers", "AnonymousUsers"], "MaxMessageSize": "50MB",
        "Comment": "apps", "Enabled": False})
    props = sim_org.execute("Get-ReceiveConnector",
                            {"Identity": "EX01\\Relay Applications"}).output[0].properties
    assert props["ProtocolLoggingLevel"] == "Verbose"
    assert props["PermissionGroups"] == "AnonymousUsers, ExchangeServers"
    assert props["MaxMessageSize"] == "50 MB (52,428,800 bytes)"
    assert (props["Comment"], props["Enabled"]) == ("apps", False)


def test_basic_auth_require_tls_without_basic_auth_is_refused(sim_org):
    error = only_error(sim_org.execute("Set-ReceiveConnector", {
        "Identity": RELAY, "AuthMechanism": "Tls, BasicAuthRequireTLS"}))
    assert error.reason == "DataValidationException"


def test_an_unknown_enum_value_fails_binding(sim_org):
    error = only_error(sim_org.execute("Set-ReceiveConnector",
                                       {"Identity": RELAY, "ProtocolLoggingLevel": "Loud"}))
    assert error.terminating and error.category == "InvalidArgument"


# -- New- and Remove- -------------------------------------------------------------------------


def test_new_custom_connector_is_created_on_the_given_server(sim_org):
    result = sim_org.execute("New-ReceiveConnector", {
        "Name": "Relay Cameras", "Server": "EX03", "TransportRole": "FrontendTransport",
        "Custom": True, "Bindings": "0.0.0.0:25", "RemoteIPRanges": ["10.60.0.1", "10.60.0.2"]})
    assert not result.errors
    assert result.output[0].to_string == "EX03\\Relay Cameras"
    assert result.output[0].properties["PermissionGroups"] == "None"


def test_new_with_an_empty_bindings_list_fails_binding(sim_org):
    error = only_error(sim_org.execute("New-ReceiveConnector", {
        "Name": "Relay Cameras", "Server": "EX03", "Bindings": [],
        "RemoteIPRanges": "10.60.0.1"}))
    assert error.terminating
    assert error.message == ("Cannot bind argument to parameter 'Bindings' because it is an "
                             "empty collection.")


def test_new_custom_without_remote_ranges_is_a_usage_error(sim_org):
    error = only_error(sim_org.execute("New-ReceiveConnector", {
        "Name": "Relay Cameras", "Server": "EX03", "Bindings": "0.0.0.0:25"}))
    assert error.reason == "ParameterErrorForDefaultUsageException"


def test_new_hub_connector_on_port_25_is_a_role_conflict(sim_org):
    error = only_error(sim_org.execute("New-ReceiveConnector", {
        "Name": "Relay Cameras", "Server": "EX03", "TransportRole": "HubTransport",
        "Bindings": "0.0.0.0:25", "RemoteIPRanges": "10.60.0.1"}))
    assert error.reason == "ReceiveConnectorRoleConflictException"
    assert len(sim_org.execute("Get-ReceiveConnector", {"Server": "EX03"}).output) == 5


def test_new_with_custom_permission_group_is_refused(sim_org):
    error = only_error(sim_org.execute("New-ReceiveConnector", {
        "Name": "X", "Server": "EX03", "TransportRole": "FrontendTransport",
        "Bindings": "0.0.0.0:25", "RemoteIPRanges": "10.60.0.1",
        "PermissionGroups": "AnonymousUsers, Custom"}))
    assert error.reason == "CustomCannotBeSetForPermissionGroupsException"


def test_usage_and_a_usage_switch_together_fail_binding(sim_org):
    error = only_error(sim_org.execute("New-ReceiveConnector", {
        "Name": "X", "Server": "EX03", "Usage": "Internet", "Custom": True,
        "Bindings": "0.0.0.0:2526"}))
    assert error.terminating and "Parameter set cannot be resolved" in error.message


def test_remove_without_confirm_false_is_refused(sim_org):
    error = only_error(sim_org.execute("Remove-ReceiveConnector", {"Identity": RELAY}))
    assert error.terminating and error.reason == "HostException"
    assert ranges(sim_org) == RELAY_SCANNERS_EX01


def test_remove_with_confirm_false_deletes(sim_org):
    result = sim_org.execute("Remove-ReceiveConnector", {"Identity": RELAY, "Confirm": False})
    assert not result.errors
    assert only_error(sim_org.execute("Get-ReceiveConnector", {"Identity": RELAY}))
