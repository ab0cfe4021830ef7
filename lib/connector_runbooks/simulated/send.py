"""Send connectors: Get-, Set-, New- and Remove-SendConnector.

Rules followed (reference ``exchange-connectors.md``): identity by name, DN or GUID (2.1),
multi-valued edits (3), properties and defaults (4.1), AddressSpaces format (4.2), SmartHosts
(4.3), SourceTransportServers (4.4), the validation rules checked on the state after the
change (4.5) and the default MaxMessageSize per usage (4.6).
"""

from __future__ import annotations

import fnmatch
import ipaddress
import logging
import re
import uuid
from typing import Any

from . import binding as b
from .binding import ListEdit, Parameter
from .failures import (
    CmdletFailure,
    already_exists,
    ambiguous,
    not_found,
    require_confirm_false,
    transformation_failure,
)
from .multivalue import NOT_PRESENT, Element, Parser, edit_list
from .registry import Call, cmdlet
from .state import OrgState, object_guid
from .values import ERROR_POLICIES, format_flags, format_size, format_timespan, is_fqdn, parse_iso
from .wire import MultiValued, WireObject

logger = logging.getLogger(__name__)

TYPE_NAMES = [
    "Microsoft.Exchange.Data.Directory.SystemConfiguration.SmtpSendConnectorConfig",
    "Microsoft.Exchange.Data.Directory.SystemConfiguration.MailGateway",
    "Microsoft.Exchange.Data.Directory.SystemConfiguration.SendConnector",
    "Microsoft.Exchange.Data.Directory.SystemConfiguration.ADLegacyVersionableObject",
    "Microsoft.Exchange.Data.Directory.SystemConfiguration.ADConfigurationObject",
    "Microsoft.Exchange.Data.Directory.ADObject",
    "Microsoft.Exchange.Data.Directory.ADRawEntry",
    "Microsoft.Exchange.Data.ConfigurableObject",
    "System.Object",
]

USAGES = ("Custom", "Internal", "Internet", "Partner")
SMART_HOST_AUTH = ("None", "BasicAuth", "BasicAuthRequireTLS", "ExchangeServer",
                   "ExternalAuthoritative")
TLS_AUTH_LEVELS = ("EncryptionOnly", "CertificateValidation", "DomainValidation")
LOGGING_LEVELS = ("None", "Verbose")
CONNECTOR_TYPES = ("Default", "XPremises")

#: 35 MB for Custom, Internet and Partner; unlimited (None) for Internal (4.6).
DEFAULT_MESSAGE_SIZE = 35 * 1024 * 1024
MAX_MESSAGE_SIZE = 2147483647


# ---------------------------------------------------------------------------------------------
# Stored form and display


def new_send_connector(
    state: OrgState, name: str, *, created: str, address_spaces: list[str],
    source_transport_servers: list[str], dns_routing_enabled: bool = True,
    smart_hosts: list[str] | None = None, usage: str = "Custom", **overrides: Any,
) -> dict[str, Any]:
    """A send connector in stored form with Exchange's defaults (4.1).

    Args:
        state: the organization, for the distinguished name.
        name: the connector name.
        created: ISO-8601 creation time.
        address_spaces: display forms, ``Type:Space;Cost``.
        source_transport_servers: server names.
        usage: only decides the default MaxMessageSize (4.6); it is not stored.
        overrides: any other stored property, by Exchange's name.
    """
    connector: dict[str, Any] = {
        "Name": name,
        "Guid": object_guid(state.send_connector_dn(name), created),
        "WhenCreated": created,
        "WhenChanged": created,
        "AddressSpaces": list(address_spaces),
        "SourceTransportServers": list(source_transport_servers),
        "SmartHosts": list(smart_hosts or []),
        "DNSRoutingEnabled": dns_routing_enabled,
        "SmartHostAuthMechanism": "None",
        "AuthenticationCredential": None,
        "Port": 25,
        "Fqdn": None,
        "RequireTLS": False,
        "TlsAuthLevel": None,
        "TlsDomain": None,
        "TlsCertificateName": None,
        "MaxMessageSize": None if usage == "Internal" else DEFAULT_MESSAGE_SIZE,
        "Enabled": True,
        "FrontendProxyEnabled": False,
        "ProtocolLoggingLevel": "None",
        "IsScopedConnector": False,
        "ConnectionInactivityTimeOut": 600,
        "ForceHELO": False,
        "IgnoreSTARTTLS": False,
        "DomainSecureEnabled": False,
        "UseExternalDNSServersEnabled": False,
        "CloudServicesMailEnabled": False,
        "RequireOorg": False,
        "ErrorPolicies": [],
        "SourceIPAddress": "0.0.0.0",
        "SmtpMaxMessagesPerConnection": 20,
        "ConnectorType": "Default",
        "Comment": None,
    }
    connector.update(overrides)
    return connector


def render(state: OrgState, connector: dict[str, Any]) -> WireObject:
    """The connector as Get-SendConnector writes it (wire shapes of section 9.3)."""
    properties: dict[str, Any] = {
        "Identity": connector["Name"],
        "Name": connector["Name"],
        "AddressSpaces": MultiValued(list(connector["AddressSpaces"]),
                                     "Microsoft.Exchange.Data.AddressSpace"),
        "SourceTransportServers": MultiValued(list(connector["SourceTransportServers"]),
                                              "Microsoft.Exchange.Data.Directory.ADObjectId"),
        "SmartHosts": MultiValued(list(connector["SmartHosts"]),
                                  "Microsoft.Exchange.Data.SmartHost"),
        "SmartHostsString": ",".join(connector["SmartHosts"]),
        "DNSRoutingEnabled": connector["DNSRoutingEnabled"],
        "SmartHostAuthMechanism": connector["SmartHostAuthMechanism"],
        "AuthenticationCredential": (None if connector["AuthenticationCredential"] is None
                                     else "System.Management.Automation.PSCredential"),
        "Port": connector["Port"],
        "Fqdn": connector["Fqdn"],
        "RequireTLS": connector["RequireTLS"],
        "TlsAuthLevel": connector["TlsAuthLevel"],
        "TlsDomain": connector["TlsDomain"],
        "TlsCertificateName": connector["TlsCertificateName"],
        "MaxMessageSize": format_size(connector["MaxMessageSize"]),
        "Enabled": connector["Enabled"],
        "FrontendProxyEnabled": connector["FrontendProxyEnabled"],
        "ProtocolLoggingLevel": connector["ProtocolLoggingLevel"],
        "IsScopedConnector": connector["IsScopedConnector"],
        "ConnectionInactivityTimeOut": format_timespan(connector["ConnectionInactivityTimeOut"]),
        "ForceHELO": connector["ForceHELO"],
        "IgnoreSTARTTLS": connector["IgnoreSTARTTLS"],
        "DomainSecureEnabled": connector["DomainSecureEnabled"],
        "UseExternalDNSServersEnabled": connector["UseExternalDNSServersEnabled"],
        "CloudServicesMailEnabled": connector["CloudServicesMailEnabled"],
        "RequireOorg": connector["RequireOorg"],
        "ErrorPolicies": format_flags(connector["ErrorPolicies"], ERROR_POLICIES).replace(
            "None", "Default"),
        "SourceIPAddress": connector["SourceIPAddress"],
        "SmtpMaxMessagesPerConnection": connector["SmtpMaxMessagesPerConnection"],
        "ConnectorType": connector["ConnectorType"],
        "Comment": connector["Comment"],
        "DistinguishedName": state.send_connector_dn(connector["Name"]),
        "Guid": connector["Guid"],
        "OriginatingServer": state.domain_controller,
        "WhenCreated": parse_iso(connector["WhenCreated"]),
        "WhenChanged": parse_iso(connector["WhenChanged"]),
        "IsValid": True,
    }
    return WireObject(list(TYPE_NAMES), connector["Name"], properties)


def find(state: OrgState, identity: object) -> list[dict[str, Any]]:
    """Connectors matching ``identity``: a name (``*`` wildcards allowed), a DN or a GUID."""
    text = str(identity)
    try:
        wanted = str(uuid.UUID(text))
    except ValueError:
        wanted = None
    if wanted:
        return [c for c in state.send_connectors if c["Guid"] == wanted]
    if text.lower().startswith("cn="):
        return [c for c in state.send_connectors
                if state.send_connector_dn(c["Name"]).lower() == text.lower()]
    return [c for c in state.send_connectors
            if fnmatch.fnmatchcase(c["Name"].lower(), text.lower())]


def find_one(state: OrgState, identity: object) -> dict[str, Any]:
    """The one connector ``identity`` names, or the not-found / ambiguous error."""
    matches = find(state, identity)
    if not matches:
        raise not_found(identity, state.domain_controller)
    if len(matches) > 1:
        raise ambiguous(identity, [c["Name"] for c in matches])
    return matches[0]


# ---------------------------------------------------------------------------------------------
# Element parsers


def _invalid(reason: str, prop: str, value: str, problem: str) -> CmdletFailure:
    return CmdletFailure(reason, f"The value \"{value}\" of property {prop} isn't valid: "
                                 f"{problem}.", target=value)


def address_space_element(prop: str, value: str) -> Element:
    """One AddressSpaces value, ``[Type:]Space[;Cost]`` (4.2); the type defaults to SMTP.

    The simulator's identifier for a malformed value is ``InvalidAddressSpace``.
    """
    kind, colon, rest = value.partition(":")
    if not colon:
        kind, rest = "SMTP", value
    if not re.fullmatch(r"[A-Za-z0-9]+", kind):
        raise _invalid("InvalidAddressSpace", prop, value, f"'{kind}' is not an address type")
    space, cost = rest, 1
    head, semicolon, tail = rest.rpartition(";")
    if semicolon and re.fullmatch(r"-?[0-9]+", tail):
        space, cost = head, int(tail)
    if not 1 <= cost <= 100:
        raise _invalid("InvalidAddressSpace", prop, value, "the cost must be from 1 to 100")
    if kind.lower() == "smtp":
        domain = space[2:] if space.startswith("*.") else space
        if space not in ("*", "--") and not is_fqdn(domain):
            raise _invalid("InvalidAddressSpace", prop, value,
                           f"'{space}' is not a domain per RFC 1035 ('*', '*.example.com' and "
                           "'example.com' are)")
    elif not space:
        raise _invalid("InvalidAddressSpace", prop, value, "the address space is empty")
    return Element((kind.lower(), space.lower(), cost), f"{kind}:{space};{cost}")


def smart_host_element(prop: str, value: str) -> Element:
    """One SmartHosts value: an FQDN, or an IP address shown in brackets (4.3)."""
    bare = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    try:
        address = ipaddress.ip_address(bare)
    except ValueError:
        address = None
    if address is not None:
        return Element(("ip", address.version, int(address)), f"[{address}]")
    if value != bare or not is_fqdn(bare):
        raise _invalid("InvalidSmartHost", prop, value, "a smart host is an FQDN or an IP address")
    return Element(("host", bare.lower().rstrip(".")), bare)


def _source_server_parser(state: OrgState) -> Parser:
    def parse(prop: str, value: str) -> Element:
        server = state.server(value)
        if server is None:
            # Only Remove reaches here with an unknown name: Add and replace skip those first.
            raise CmdletFailure(
                NOT_PRESENT,
                f"The value \"{value}\" can't be removed from {prop} because it isn't present.",
                target=value)
        return Element(server["Name"].lower(), server["Name"])

    return parse


def _known_servers(call: Call, values: list[str]) -> list[str]:
    """``values`` without the names that match no server, each skipped with a warning (4.4).

    Raises:
        CmdletFailure: SendConnectorValidSourceServerNotFoundException when names were given
            and none of them resolves.
    """
    known = []
    for value in values:
        if call.state.server(value) is None:
            call.warnings.append(
                f"The server \"{value}\" couldn't be found and was skipped from "
                "SourceTransportServers.")
        else:
            known.append(value)
    if values and not known:
        raise CmdletFailure(
            "SendConnectorValidSourceServerNotFoundException",
            "None of the servers given for SourceTransportServers could be found: "
            + ", ".join(values) + ".", target="SourceTransportServers")
    return known


# ---------------------------------------------------------------------------------------------
# Validation (4.4, 4.5), always on the state after the change


def _validation(message: str, target: str) -> CmdletFailure:
    return CmdletFailure("DataValidationException", message, target=target)


def check_connector(state: OrgState, connector: dict[str, Any]) -> None:
    """The rules of 4.4 and 4.5 for the connector as it would be saved.

    Raises:
        CmdletFailure: with the identifier of the first rule broken.
    """
    name = connector["Name"]
    if not connector["AddressSpaces"]:
        raise CmdletFailure("NoAddressSpaces", f"The Send connector \"{name}\" must have at "
                            "least one address space.", target=name)

    servers = [state.server(s) for s in connector["SourceTransportServers"]]
    if not servers:
        raise CmdletFailure("SendConnectorSourceServersNotSetException",
                            f"The Send connector \"{name}\" must have at least one source "
                            "transport server.", target=name)
    for server in servers:
        if server["ServerRole"] not in ("Mailbox", "Edge"):
            raise CmdletFailure("SendConnectorWrongSourceServerRoleException",
                                f"The server {server['Name']} isn't a Mailbox server and can't "
                                "be a source transport server.", target=server["Name"])
    roles = {server["ServerRole"] for server in servers}
    if len(roles) > 1:
        raise CmdletFailure("SendConnectorMixedSourceServerRolesException",
                            "Edge Transport servers and Mailbox servers can't both be source "
                            "transport servers of one Send connector: "
                            + ", ".join(s["Name"] for s in servers) + ".", target=name)

    kinds = {space.split(":", 1)[0].lower() for space in connector["AddressSpaces"]}
    if kinds - {"smtp"}:
        if roles == {"Edge"}:
            raise CmdletFailure("InvalidAddressSpace", "Edge Transport servers accept only SMTP "
                                "address spaces.", target=name)
        if connector["DNSRoutingEnabled"]:
            raise CmdletFailure("InvalidAddressSpace", "A non-SMTP address space needs smart "
                                "host routing (DNSRoutingEnabled $false with SmartHosts).",
                                target=name)

    dns, smart_hosts = connector["DNSRoutingEnabled"], connector["SmartHosts"]
    if not dns and not smart_hosts:
        raise CmdletFailure("SmartHostNotSet", f"The Send connector \"{name}\" routes through "
                            "smart hosts (DNSRoutingEnabled is $false) but has no SmartHosts.",
                            target=name)
    if dns and smart_hosts:
        raise CmdletFailure("SmartHostNotSet", f"The Send connector \"{name}\" has SmartHosts "
                            "but DNSRoutingEnabled is $true; smart hosts need "
                            "DNSRoutingEnabled $false.", target=name)

    auth = connector["SmartHostAuthMechanism"]
    if auth in ("BasicAuth", "BasicAuthRequireTLS") and not connector["AuthenticationCredential"]:
        raise CmdletFailure("AuthenticationCredentialNotSet", f"SmartHostAuthMechanism {auth} "
                            "needs AuthenticationCredential.", target=name)
    if auth != "None" and dns:
        raise _validation("SmartHostAuthMechanism applies only to smart host routing "
                          "(DNSRoutingEnabled $false).", name)
    if connector["DomainSecureEnabled"] and (not dns or connector["IgnoreSTARTTLS"]):
        raise _validation("DomainSecureEnabled $true needs DNSRoutingEnabled $true and "
                          "IgnoreSTARTTLS $false.", name)
    if connector["TlsAuthLevel"] and (not connector["RequireTLS"] or connector["IgnoreSTARTTLS"]):
        raise CmdletFailure("TlsAuthLevelWithRequireTlsDisabled", "TlsAuthLevel can't be set "
                            "while RequireTLS is $false or IgnoreSTARTTLS is $true.", target=name)
    if connector["TlsDomain"] and connector["TlsAuthLevel"] != "DomainValidation":
        raise _validation("TlsDomain can only be set with TlsAuthLevel DomainValidation.", name)
    if (not dns and connector["TlsAuthLevel"] == "DomainValidation"
            and not connector["TlsDomain"]):
        raise _validation("A smart host connector with TlsAuthLevel DomainValidation needs a "
                          "TlsDomain.", name)
    if connector["IgnoreSTARTTLS"] and connector["RequireTLS"]:
        raise _validation("IgnoreSTARTTLS must be $false when RequireTLS is $true.", name)
    source = ipaddress.ip_address(connector["SourceIPAddress"])
    if source.is_multicast or str(source) == "255.255.255.255":
        raise _validation(f"SourceIPAddress {source} can't be a broadcast or multicast "
                          "address.", name)
    size = connector["MaxMessageSize"]
    if size is not None and not 0 <= size <= MAX_MESSAGE_SIZE:
        raise _validation(f"MaxMessageSize must be from 0 to {MAX_MESSAGE_SIZE:,} bytes.", name)
    if not 1 <= connector["ConnectionInactivityTimeOut"] <= 86400:
        raise _validation("ConnectionInactivityTimeOut must be from 00:00:01 to 1.00:00:00.", name)


# ---------------------------------------------------------------------------------------------
# Cmdlets


def _source_ip(name: str, value: Any) -> str:
    try:
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        raise transformation_failure(name, value, "System.Net.IPAddress",
                                       "An invalid IP address was specified.") from None


_SETTABLE = (
    Parameter("AddressSpaces", b.multi("AddressSpaces", "Microsoft.Exchange.Data.AddressSpace")),
    Parameter("SourceTransportServers", b.multi(
        "SourceTransportServers", "Microsoft.Exchange.Data.Directory.ADObjectId")),
    Parameter("SmartHosts", b.multi("SmartHosts", "Microsoft.Exchange.Data.SmartHost")),
    Parameter("DNSRoutingEnabled", b.boolean),
    Parameter("SmartHostAuthMechanism", b.enum(
        SMART_HOST_AUTH, "Microsoft.Exchange.Data.Directory.SystemConfiguration."
        "SmtpSendConnectorConfig+AuthMechanisms")),
    Parameter("AuthenticationCredential", b.anything),
    Parameter("Port", b.integer(0, 65535)),
    Parameter("Fqdn", b.fqdn),
    Parameter("RequireTLS", b.boolean),
    Parameter("TlsAuthLevel", b.optional(b.enum(TLS_AUTH_LEVELS,
                                                "Microsoft.Exchange.Data.TlsAuthLevel"))),
    Parameter("TlsDomain", b.optional(b.fqdn_pattern)),
    Parameter("TlsCertificateName", b.text),
    Parameter("MaxMessageSize", b.size(unlimited=True)),
    Parameter("Enabled", b.boolean),
    Parameter("FrontendProxyEnabled", b.boolean),
    Parameter("ProtocolLoggingLevel", b.enum(LOGGING_LEVELS,
                                             "Microsoft.Exchange.Data.ProtocolLoggingLevel")),
    Parameter("IsScopedConnector", b.boolean),
    Parameter("ConnectionInactivityTimeOut", b.timespan),
    Parameter("ForceHELO", b.boolean),
    Parameter("IgnoreSTARTTLS", b.boolean),
    Parameter("DomainSecureEnabled", b.boolean),
    Parameter("UseExternalDNSServersEnabled", b.boolean),
    Parameter("CloudServicesMailEnabled", b.boolean),
    Parameter("RequireOorg", b.boolean),
    Parameter("ErrorPolicies", b.flags(ERROR_POLICIES + ("Default",),
                                       "Microsoft.Exchange.Data.ErrorPolicies")),
    Parameter("SourceIPAddress", _source_ip),
    Parameter("SmtpMaxMessagesPerConnection", b.integer(1, 2147483647)),
    Parameter("ConnectorType", b.enum(CONNECTOR_TYPES,
                                      "Microsoft.Exchange.Data.TenantConnectorType")),
    Parameter("Comment", b.text),
)

_LISTS = ("AddressSpaces", "SourceTransportServers", "SmartHosts")


def _apply_lists(call: Call, current: dict[str, Any], after: dict[str, Any]) -> None:
    """Replace or edit the three multi-valued properties as the call asks."""
    parsers = {"AddressSpaces": address_space_element, "SmartHosts": smart_host_element,
               "SourceTransportServers": _source_server_parser(call.state)}
    for prop in _LISTS:
        edit: ListEdit | None = call.get(prop)
        if edit is None:
            continue
        if prop == "SourceTransportServers":
            if edit.replace is not None:
                edit = ListEdit(replace=_known_servers(call, edit.replace))
            else:
                edit = ListEdit(add=_known_servers(call, edit.add), remove=edit.remove)
        after[prop] = edit_list(prop, current[prop], edit, parsers[prop], may_be_empty=True)


def _credential_user(value: Any) -> str | None:
    """The user name of a credential; the secret is never stored."""
    if value is None:
        return None
    for attribute in ("username", "UserName", "user_name"):
        if getattr(value, attribute, None):
            return str(getattr(value, attribute))
    if isinstance(value, dict):
        return str(value.get("UserName") or value.get("username") or "credential")
    return "credential"


def _assign_scalars(call: Call, after: dict[str, Any]) -> None:
    for parameter in _SETTABLE:
        if parameter.name in _LISTS or not call.given(parameter.name):
            continue
        value = call.get(parameter.name)
        if parameter.name == "AuthenticationCredential":
            value = _credential_user(value)
        elif parameter.name == "ErrorPolicies":
            value = [v for v in value if v != "Default"]
        after[parameter.name] = value


@cmdlet("Get-SendConnector", Parameter("Identity", b.anything))
def get_send_connector(call: Call) -> None:
    """List connectors: all (Identity absent or None) or those an identity names."""
    state = call.state
    identity = call.get("Identity")
    if identity is None:
        connectors = state.send_connectors
    else:
        connectors = find(state, identity)
        if not connectors and "*" not in str(identity):
            raise not_found(identity, state.domain_controller)
    call.output.extend(render(state, c) for c in connectors)


@cmdlet("Set-SendConnector", Parameter("Identity", b.anything, mandatory=True),
        Parameter("Name", b.text), *_SETTABLE, mutating=True)
def set_send_connector(call: Call) -> None:
    """Change one connector; the rules are checked on the state after the change (4.5)."""
    state = call.state
    connector = find_one(state, call.get("Identity"))
    after = dict(connector)
    _apply_lists(call, connector, after)
    _assign_scalars(call, after)
    if call.given("Name") and call.get("Name") != connector["Name"]:
        new_name = call.get("Name") or ""
        if not new_name or len(new_name) > 64:
            raise _validation(f"The name \"{new_name}\" must have 1 to 64 characters.", new_name)
        if any(c["Name"].lower() == new_name.lower() for c in state.send_connectors
               if c is not connector):
            raise already_exists(state.send_connector_dn(new_name), state.domain_controller)
        after["Name"] = new_name
    check_connector(state, after)

    if _meaning(after) == _meaning(connector):
        call.warnings.append("The command completed successfully but no settings of "
                             f"'{connector['Name']}' have been modified.")
        return
    after["WhenChanged"] = call.timestamp
    connector.clear()
    connector.update(after)
    logger.info("Set-SendConnector %s", connector["Name"])


def _meaning(connector: dict[str, Any]) -> dict[str, Any]:
    meaning = dict(connector)
    for prop in _LISTS + ("ErrorPolicies",):
        meaning[prop] = frozenset(connector[prop])
    return meaning


@cmdlet("New-SendConnector", Parameter("Name", b.text, mandatory=True),
        Parameter("Usage", b.enum(USAGES, "Microsoft.Exchange.Management.SystemConfigurationTasks."
                                          "NewSendConnector+UsageType")),
        *(Parameter(usage, b.switch) for usage in USAGES),
        *(Parameter(p.name, p.convert, mandatory=p.name == "AddressSpaces") for p in _SETTABLE),
        mutating=True)
def new_send_connector_cmdlet(call: Call) -> None:
    """Create a connector; SmartHosts must come in the same call as DNSRoutingEnabled $false."""
    state = call.state
    switches = [u for u in USAGES if call.get(u)]
    if len(switches) > 1 or (switches and call.given("Usage")):
        raise b.ambiguous_parameter_set()
    usage = call.get("Usage") or (switches[0] if switches else "Custom")
    if call.get("AddressSpaces").replace == []:
        raise b.empty_collection("AddressSpaces")

    name = call.get("Name")
    if any(c["Name"].lower() == name.lower() for c in state.send_connectors):
        raise already_exists(state.send_connector_dn(name), state.domain_controller)

    connector = new_send_connector(
        state, name, created=call.timestamp, address_spaces=[],
        source_transport_servers=[state.endpoint_server], usage=usage)
    _apply_lists(call, {prop: [] for prop in _LISTS}, connector)
    if not call.given("SourceTransportServers"):
        connector["SourceTransportServers"] = [state.endpoint_server]
    _assign_scalars(call, connector)
    if len(name) > 64:
        raise _validation(f"The name \"{name}\" must have 1 to 64 characters.", name)
    check_connector(state, connector)
    state.send_connectors.append(connector)
    call.output.append(render(state, connector))
    logger.info("New-SendConnector %s", name)


@cmdlet("Remove-SendConnector", Parameter("Identity", b.anything, mandatory=True), mutating=True)
def remove_send_connector(call: Call) -> None:
    """Delete one connector; needs ``Confirm=False`` (2.4)."""
    state = call.state
    connector = find_one(state, call.get("Identity"))
    require_confirm_false(call.get("Confirm"), call.get("WhatIf"),
                          f"Removing Send connector \"{connector['Name']}\".")
    state.send_connectors.remove(connector)
    logger.info("Remove-SendConnector %s", connector["Name"])

