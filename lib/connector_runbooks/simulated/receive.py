"""Receive connectors: Get-, Set-, New- and Remove-ReceiveConnector.

Rules followed (reference ``exchange-connectors.md``): identities (2.2, 2.3), multi-valued
edits (3), properties and defaults (5.1), usage types on New (5.2), AuthMechanism combinations
and flag display (5.3), Bindings (5.4), RemoteIPRanges parsing and equality (5.5), the conflict
rules between connectors of one server (5.6), the 1,200-entry limit (5.7) and the defaults
setup creates (5.8).
"""

from __future__ import annotations

import fnmatch
import logging
import uuid
from typing import Any

from . import binding as b
from .addresses import first_clash, parse_ip_binding, parse_ip_range
from .binding import Parameter
from .failures import (
    CmdletFailure,
    already_exists,
    ambiguous,
    not_found,
    require_confirm_false,
)
from .multivalue import binding_element, edit_list, range_element
from .registry import Call, cmdlet
from .state import OrgState, object_guid
from .values import (
    AUTH_MECHANISMS,
    PERMISSION_GROUPS,
    format_flags,
    format_size,
    format_timespan,
    parse_iso,
)
from .wire import MultiValued, WireObject

logger = logging.getLogger(__name__)

TYPE_NAMES = [
    "Microsoft.Exchange.Data.Directory.SystemConfiguration.ReceiveConnector",
    "Microsoft.Exchange.Data.Directory.SystemConfiguration.ADConfigurationObject",
    "Microsoft.Exchange.Data.Directory.ADObject",
    "Microsoft.Exchange.Data.Directory.ADRawEntry",
    "Microsoft.Exchange.Data.ConfigurableObject",
    "System.Object",
]

#: Roughly 1,200 to 1,300 entries fit; the simulator refuses more than 1,200 (5.7).
REMOTE_IP_RANGES_LIMIT = 1200

ALL_IPV4 = "0.0.0.0-255.255.255.255"
ALL_IPV6 = "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"

MIN_MESSAGE_SIZE, MAX_MESSAGE_SIZE = 65536, 2147483647
DEFAULT_MESSAGE_SIZE = 36 * 1024 * 1024

TRANSPORT_ROLES = ("FrontendTransport", "HubTransport")
LOGGING_LEVELS = ("None", "Verbose")
USAGES = ("Client", "Custom", "Internal", "Internet", "Partner")
SIZE_ENABLED = ("Enabled", "Disabled", "EnabledWithoutValue")

# What each usage type of New-ReceiveConnector requires, refuses and sets (5.2).
_USAGE_RULES: dict[str, dict[str, Any]] = {
    "Custom": {"requires": ("Bindings", "RemoteIPRanges"), "refuses": (),
               "PermissionGroups": [], "AuthMechanism": ["Tls"]},
    "Internet": {"requires": ("Bindings",), "refuses": ("RemoteIPRanges",),
                 "PermissionGroups": ["AnonymousUsers"], "AuthMechanism": ["Tls"],
                 "RemoteIPRanges": [ALL_IPV4]},
    "Internal": {"requires": ("RemoteIPRanges",), "refuses": ("Bindings",),
                 "PermissionGroups": ["ExchangeServers", "ExchangeLegacyServers"],
                 "AuthMechanism": ["Tls", "ExchangeServer"], "Bindings": ["0.0.0.0:25"]},
    "Client": {"requires": ("RemoteIPRanges",), "refuses": ("Bindings",),
               "PermissionGroups": ["ExchangeUsers"],
               "AuthMechanism": ["Tls", "Integrated", "BasicAuth", "BasicAuthRequireTLS"],
               "Bindings": ["0.0.0.0:587"]},
    "Partner": {"requires": ("Bindings", "RemoteIPRanges"), "refuses": (),
                "PermissionGroups": ["Partners"], "AuthMechanism": ["Tls"],
                "DomainSecureEnabled": True},
}

# The exception names for usage errors; Client and Partner follow the same pattern as the
# three names known from Exchange (10.1) and are the simulator's own.
_USAGE_EXCEPTIONS = {
    "Custom": "ParameterErrorForDefaultUsageException",
    "Internet": "ParameterErrorForInternetUsageException",
    "Internal": "ParameterErrorForInternalUsageException",
    "Client": "ParameterErrorForClientUsageException",
    "Partner": "ParameterErrorForPartnerUsageException",
}

_CONFLICT_FIRST_SENTENCE = (
    "The values that you specified for the Bindings and RemoteIPRanges parameters conflict with "
    'the settings on Receive connector "{other}".'
)
_ROLE_CONFLICT = _CONFLICT_FIRST_SENTENCE + (
    " Receive connectors assigned to different Transport roles on a single server must listen "
    "on unique local IP address & port bindings."
)


# ---------------------------------------------------------------------------------------------
# Stored form, identity and display


def new_receive_connector(
    state: OrgState, server: str, name: str, *, created: str, transport_role: str,
    bindings: list[str], remote_ip_ranges: list[str], auth_mechanism: list[str],
    permission_groups: list[str], protocol_logging_level: str = "None", **overrides: Any,
) -> dict[str, Any]:
    """A receive connector in stored form with Exchange's defaults (5.1).

    Args:
        state: the organization, for the server's FQDN and the distinguished name.
        server: the server name.
        name: the connector name.
        created: ISO-8601 creation time.
        overrides: any other stored property, by Exchange's name.
    """
    host = state.server(server)
    connector: dict[str, Any] = {
        "Name": name,
        "Server": host["Name"] if host else server,
        "Guid": object_guid(state.receive_connector_dn(server, name), created),
        "WhenCreated": created,
        "WhenChanged": created,
        "TransportRole": transport_role,
        "Bindings": list(bindings),
        "RemoteIPRanges": list(remote_ip_ranges),
        "AuthMechanism": list(auth_mechanism),
        "PermissionGroups": list(permission_groups),
        "Fqdn": host["Fqdn"] if host else None,
        "Enabled": True,
        "MaxMessageSize": DEFAULT_MESSAGE_SIZE,
        "MaxHeaderSize": 256 * 1024,
        "ProtocolLoggingLevel": protocol_logging_level,
        "Banner": None,
        "RequireTLS": False,
        "Comment": None,
        "TarpitInterval": 5,
        "AuthTarpitInterval": 5,
        "ConnectionTimeout": 600,
        "ConnectionInactivityTimeout": 300,
        "MaxInboundConnection": 5000,
        "MaxInboundConnectionPerSource": 20,
        "MaxInboundConnectionPercentagePerSource": 2,
        "MaxProtocolErrors": 5,
        "MaxRecipientsPerMessage": 200,
        "SizeEnabled": "Enabled",
        "DomainSecureEnabled": False,
        "ChunkingEnabled": True,
        "BinaryMimeEnabled": True,
        "AdvertiseClientSettings": False,
    }
    connector.update(overrides)
    return connector


def identity_of(connector: dict[str, Any]) -> str:
    """``SERVER\\Name``, the form Exchange displays."""
    return f"{connector['Server']}\\{connector['Name']}"


def _unlimited(value: int | None) -> int | str:
    return "Unlimited" if value is None else value


def render(state: OrgState, connector: dict[str, Any]) -> WireObject:
    """The connector as Get-ReceiveConnector writes it (wire shapes of section 9.3)."""
    dn = state.receive_connector_dn(connector["Server"], connector["Name"])
    properties: dict[str, Any] = {
        "Identity": identity_of(connector),
        "Name": connector["Name"],
        "Server": connector["Server"],
        "Enabled": connector["Enabled"],
        "TransportRole": connector["TransportRole"],
        "Bindings": MultiValued(list(connector["Bindings"]), "Microsoft.Exchange.Data.IPBinding"),
        "RemoteIPRanges": MultiValued(list(connector["RemoteIPRanges"]),
                                      "Microsoft.Exchange.Data.IPRange"),
        "AuthMechanism": format_flags(connector["AuthMechanism"], AUTH_MECHANISMS),
        "PermissionGroups": format_flags(connector["PermissionGroups"], PERMISSION_GROUPS),
        "Fqdn": connector["Fqdn"],
        "Banner": connector["Banner"],
        "Comment": connector["Comment"],
        "ProtocolLoggingLevel": connector["ProtocolLoggingLevel"],
        "RequireTLS": connector["RequireTLS"],
        "DomainSecureEnabled": connector["DomainSecureEnabled"],
        "MaxMessageSize": format_size(connector["MaxMessageSize"]),
        "MaxHeaderSize": format_size(connector["MaxHeaderSize"]),
        "MaxRecipientsPerMessage": connector["MaxRecipientsPerMessage"],
        "MaxInboundConnection": _unlimited(connector["MaxInboundConnection"]),
        "MaxInboundConnectionPerSource": _unlimited(connector["MaxInboundConnectionPerSource"]),
        "MaxInboundConnectionPercentagePerSource":
            connector["MaxInboundConnectionPercentagePerSource"],
        "MaxProtocolErrors": _unlimited(connector["MaxProtocolErrors"]),
        "SizeEnabled": connector["SizeEnabled"],
        "TarpitInterval": format_timespan(connector["TarpitInterval"]),
        "AuthTarpitInterval": format_timespan(connector["AuthTarpitInterval"]),
        "ConnectionTimeout": format_timespan(connector["ConnectionTimeout"]),
        "ConnectionInactivityTimeout": format_timespan(connector["ConnectionInactivityTimeout"]),
        "ChunkingEnabled": connector["ChunkingEnabled"],
        "BinaryMimeEnabled": connector["BinaryMimeEnabled"],
        "AdvertiseClientSettings": connector["AdvertiseClientSettings"],
        "DistinguishedName": dn,
        "Guid": connector["Guid"],
        "OriginatingServer": state.domain_controller,
        "WhenCreated": parse_iso(connector["WhenCreated"]),
        "WhenChanged": parse_iso(connector["WhenChanged"]),
        "IsValid": True,
    }
    return WireObject(list(TYPE_NAMES), identity_of(connector), properties)


def find(state: OrgState, identity: object) -> list[dict[str, Any]]:
    """Connectors matching ``identity``: ``SERVER\\Name``, a name, a DN or a GUID.

    ``*`` wildcards are honoured, as Exchange honours them for Get-.
    """
    text = str(identity)

    def like(value: str, pattern: str) -> bool:
        return fnmatch.fnmatchcase(value.lower(), pattern.lower())

    if "\\" in text:
        server_part, name_part = text.split("\\", 1)
        return [c for c in state.receive_connectors
                if like(c["Server"], server_part) and like(c["Name"], name_part)]
    try:
        wanted = str(uuid.UUID(text))
    except ValueError:
        wanted = None
    if wanted:
        return [c for c in state.receive_connectors if c["Guid"] == wanted]
    if text.lower().startswith("cn="):
        return [c for c in state.receive_connectors
                if state.receive_connector_dn(c["Server"], c["Name"]).lower() == text.lower()]
    return [c for c in state.receive_connectors if like(c["Name"], text)]


def find_one(state: OrgState, identity: object) -> dict[str, Any]:
    """The one connector ``identity`` names.

    Raises:
        CmdletFailure: ManagementObjectNotFoundException or ManagementObjectAmbiguousException.
    """
    matches = find(state, identity)
    if not matches:
        raise not_found(identity, state.domain_controller)
    if len(matches) > 1:
        raise ambiguous(identity, [identity_of(c) for c in matches])
    return matches[0]


# ---------------------------------------------------------------------------------------------
# Validation shared by Set- and New-


def _validation(message: str, target: str | None = None) -> CmdletFailure:
    return CmdletFailure("DataValidationException", message, target=target)


def check_settings(connector: dict[str, Any]) -> None:
    """The single-connector rules: AuthMechanism combinations (5.3), sizes, Banner, name.

    Raises:
        CmdletFailure: the first rule broken (DataValidationException; the texts are the
            simulator's own).
    """
    auth = connector["AuthMechanism"]
    if "None" in auth and len(auth) > 1:
        raise _validation("The AuthMechanism value None can't be combined with other values.",
                          "AuthMechanism")
    if "BasicAuthRequireTLS" in auth and not {"BasicAuth", "Tls"} <= set(auth):
        raise _validation("The AuthMechanism value BasicAuthRequireTLS requires BasicAuth and "
                          "Tls.", "AuthMechanism")
    if "ExternalAuthoritative" in auth:
        if set(auth) - {"ExternalAuthoritative", "Tls"}:
            raise _validation("The AuthMechanism value ExternalAuthoritative can only be "
                              "combined with Tls.", "AuthMechanism")
        if "ExchangeServers" not in connector["PermissionGroups"]:
            raise _validation("The AuthMechanism value ExternalAuthoritative requires the "
                              "PermissionGroups value ExchangeServers.", "AuthMechanism")
    if connector["RequireTLS"] and "Tls" not in auth:
        raise _validation("RequireTLS $true requires Tls in AuthMechanism.", "RequireTLS")
    size = connector["MaxMessageSize"]
    if not MIN_MESSAGE_SIZE <= size <= MAX_MESSAGE_SIZE:
        raise _validation(
            f"The value of MaxMessageSize must be between {format_size(MIN_MESSAGE_SIZE)} and "
            f"{format_size(MAX_MESSAGE_SIZE)}; {format_size(size)} was given.", "MaxMessageSize")
    banner = connector["Banner"]
    if banner is not None and not banner.startswith("220"):
        raise _validation(f"The Banner \"{banner}\" must start with \"220\".", "Banner")
    name = connector["Name"]
    if not name or len(name) > 64 or "\\" in name:
        raise _validation(f"The name \"{name}\" isn't valid: it must have 1 to 64 characters "
                          "and no backslash.", "Name")


def check_limit(connector: dict[str, Any]) -> None:
    """More than 1,200 RemoteIPRanges entries fail as Exchange fails (5.7)."""
    if len(connector["RemoteIPRanges"]) > REMOTE_IP_RANGES_LIMIT:
        raise CmdletFailure(
            "AdminLimitExceededException",
            "The administrative limit for this request was exceeded.",
            target=identity_of(connector),
        )


def check_conflicts(state: OrgState, connector: dict[str, Any]) -> None:
    """The conflict rules between connectors of one server (5.6).

    Raises:
        CmdletFailure: ReceiveConnectorRoleConflictException for a shared binding across
            transport roles; ConnectorMappingConflictException for RemoteIPRanges that are
            identical (same binding) or partly overlap (same or overlapping binding).
    """
    bindings = [parse_ip_binding(v) for v in connector["Bindings"]]
    ranges = [parse_ip_range(v) for v in connector["RemoteIPRanges"]]
    for other in state.receive_connectors_of(connector["Server"]):
        if other["Guid"] == connector["Guid"]:
            continue
        theirs = [parse_ip_binding(v) for v in other["Bindings"]]
        same = any(mine.same(their) for mine in bindings for their in theirs)
        overlapping = same or any(mine.overlaps(their) for mine in bindings for their in theirs)
        if not overlapping:
            continue
        if other["TransportRole"] != connector["TransportRole"]:
            raise CmdletFailure("ReceiveConnectorRoleConflictException",
                                _ROLE_CONFLICT.format(other=identity_of(other)),
                                target=identity_of(connector))
        clash = first_clash(ranges, [parse_ip_range(v) for v in other["RemoteIPRanges"]],
                            identical_clashes=same)
        if clash:
            mine, their = clash
            kind = "is the same as" if mine.same_entry(their) else "partly overlaps"
            raise CmdletFailure(
                "ConnectorMappingConflictException",
                _CONFLICT_FIRST_SENTENCE.format(other=identity_of(other))
                + f" The remote IP range \"{mine}\" {kind} the range \"{their}\" of that "
                "connector on a shared binding.",
                target=identity_of(connector),
            )


# ---------------------------------------------------------------------------------------------
# Cmdlets

_SETTABLE = (
    Parameter("Bindings", b.multi("Bindings", "Microsoft.Exchange.Data.IPBinding")),
    Parameter("RemoteIPRanges", b.multi("RemoteIPRanges", "Microsoft.Exchange.Data.IPRange")),
    Parameter("TransportRole", b.enum(TRANSPORT_ROLES, "Microsoft.Exchange.Data.ServerRole")),
    Parameter("PermissionGroups", b.flags(PERMISSION_GROUPS,
                                          "Microsoft.Exchange.Data.PermissionGroups")),
    Parameter("AuthMechanism", b.flags(AUTH_MECHANISMS, "Microsoft.Exchange.Data.AuthMechanisms",
                                       keep_none=True)),
    Parameter("Fqdn", b.fqdn),
    Parameter("Enabled", b.boolean),
    Parameter("ProtocolLoggingLevel", b.enum(LOGGING_LEVELS,
                                             "Microsoft.Exchange.Data.ProtocolLoggingLevel")),
    Parameter("MaxMessageSize", b.size(unlimited=False)),
    Parameter("Comment", b.text),
    Parameter("Banner", b.text),
    Parameter("RequireTLS", b.boolean),
    Parameter("DomainSecureEnabled", b.boolean),
    Parameter("MaxRecipientsPerMessage", b.integer(1, 512000)),
    Parameter("MaxInboundConnectionPerSource", b.integer(1, 10000, unlimited=True)),
    Parameter("ConnectionTimeout", b.timespan),
    Parameter("ConnectionInactivityTimeout", b.timespan),
    Parameter("SizeEnabled", b.enum(SIZE_ENABLED, "Microsoft.Exchange.Data.SizeMode")),
)

_LIST_PARSERS = {"Bindings": binding_element, "RemoteIPRanges": range_element}


@cmdlet("Get-ReceiveConnector", Parameter("Identity", b.anything), Parameter("Server", b.text))
def get_receive_connector(call: Call) -> None:
    """List connectors: all, one server's (-Server) or those an identity names.

    An Identity of None counts as no Identity and returns every connector (2.3).
    """
    state = call.state
    identity, server = call.get("Identity"), call.get("Server")
    if identity is not None and server is not None:
        raise b.ambiguous_parameter_set()
    if server is not None:
        host = state.server(server)
        if host is None:
            raise not_found(server, state.domain_controller)
        connectors = state.receive_connectors_of(host["Name"])
    elif identity is not None:
        connectors = find(state, identity)
        if not connectors and "*" not in str(identity):
            raise not_found(identity, state.domain_controller)
        if len(connectors) > 1 and "*" not in str(identity) and "\\" not in str(identity):
            raise ambiguous(identity, [identity_of(c) for c in connectors])
    else:
        connectors = state.receive_connectors
    call.output.extend(render(state, c) for c in connectors)


@cmdlet("Set-ReceiveConnector", Parameter("Identity", b.anything, mandatory=True),
        Parameter("Name", b.text), *_SETTABLE, mutating=True)
def set_receive_connector(call: Call) -> None:
    """Change one connector; plain lists replace, Add/Remove dicts edit (3, 5.5-5.7)."""
    state = call.state
    connector = find_one(state, call.get("Identity"))
    before = dict(connector)
    after = dict(connector)

    for name, value in call.parameters.items():
        if name in _LIST_PARSERS:
            after[name] = edit_list(name, connector[name], value, _LIST_PARSERS[name])
        elif name in {p.name for p in _SETTABLE} or name == "Name":
            after[name] = value

    check_settings(after)
    if after["Name"].lower() != before["Name"].lower():
        for other in state.receive_connectors_of(after["Server"]):
            if other["Name"].lower() == after["Name"].lower():
                raise already_exists(
                    state.receive_connector_dn(after["Server"], after["Name"]),
                    state.domain_controller)
    check_limit(after)
    check_conflicts(state, after)

    if _meaning(after) == _meaning(before):
        call.warnings.append(
            "The command completed successfully but no settings of "
            f"'{identity_of(before)}' have been modified."
        )
        return
    after["WhenChanged"] = call.timestamp
    connector.clear()
    connector.update(after)
    logger.info("Set-ReceiveConnector %s", identity_of(connector))


def _meaning(connector: dict[str, Any]) -> dict[str, Any]:
    """A connector with its lists as sets, for "did anything change" (order has no meaning)."""
    meaning = dict(connector)
    for name in ("Bindings", "RemoteIPRanges", "AuthMechanism", "PermissionGroups"):
        meaning[name] = frozenset(connector[name])
    return meaning


_USAGE_SWITCHES = tuple(Parameter(usage, b.switch) for usage in USAGES)


@cmdlet("New-ReceiveConnector", Parameter("Name", b.text, mandatory=True),
        Parameter("Server", b.text), Parameter("Usage", b.enum(
            USAGES, "Microsoft.Exchange.Management.SystemConfigurationTasks.NewReceiveConnector"
            "+UsageType")),
        *_USAGE_SWITCHES, *_SETTABLE, mutating=True)
def new_receive_connector_cmdlet(call: Call) -> None:
    """Create a connector with the defaults of its usage type (5.2) on -Server."""
    state = call.state
    switches = [u for u in USAGES if call.get(u)]
    if len(switches) > 1 or (switches and call.given("Usage")):
        raise b.ambiguous_parameter_set()
    usage = call.get("Usage") or (switches[0] if switches else "Custom")
    rules = _USAGE_RULES[usage]

    for name in ("Bindings", "RemoteIPRanges"):
        edit = call.get(name)
        if edit is not None and edit.replace == []:
            raise b.empty_collection(name)
    for name in rules["requires"]:
        if not call.given(name):
            raise CmdletFailure(
                _USAGE_EXCEPTIONS[usage],
                f"The {name} parameter must be specified for a Receive connector of usage type "
                f"{usage}.", target=call.get("Name"))
    for name in rules["refuses"]:
        if call.given(name):
            raise CmdletFailure(
                _USAGE_EXCEPTIONS[usage],
                f"The {name} parameter can't be specified for a Receive connector of usage type "
                f"{usage}.", target=call.get("Name"))
    if "Custom" in (call.get("PermissionGroups") or []):
        raise CmdletFailure(
            "CustomCannotBeSetForPermissionGroupsException",
            "The PermissionGroups value Custom can't be set on a new Receive connector.",
            target="PermissionGroups")

    server_name = call.get("Server") or state.endpoint_server
    host = state.server(server_name)
    if host is None:
        raise not_found(server_name, state.domain_controller)
    if host["ServerRole"] != "Mailbox":
        raise CmdletFailure(
            "ServerRoleNotSupportedException",
            f"The server {host['Name']} is an Edge Transport server; create its Receive "
            "connectors on that server.", target=host["Name"])

    name = call.get("Name")
    if any(c["Name"].lower() == name.lower() for c in state.receive_connectors_of(host["Name"])):
        raise already_exists(state.receive_connector_dn(host["Name"], name),
                             state.domain_controller)

    def listed(prop: str) -> list[str]:
        edit = call.get(prop)
        if edit is None:
            return list(rules.get(prop, []))
        return edit_list(prop, [], edit, _LIST_PARSERS[prop])

    connector = new_receive_connector(
        state, host["Name"], name, created=call.timestamp,
        transport_role=call.get("TransportRole") or "HubTransport",
        bindings=listed("Bindings"),
        remote_ip_ranges=listed("RemoteIPRanges"),
        auth_mechanism=call.get("AuthMechanism", rules["AuthMechanism"]),
        permission_groups=call.get("PermissionGroups", rules["PermissionGroups"]),
        DomainSecureEnabled=rules.get("DomainSecureEnabled", False),
    )
    for prop in _SETTABLE:
        if prop.name not in _LIST_PARSERS and call.given(prop.name):
            connector[prop.name] = call.get(prop.name)

    check_settings(connector)
    check_limit(connector)
    check_conflicts(state, connector)
    state.receive_connectors.append(connector)
    call.output.append(render(state, connector))
    logger.info("New-ReceiveConnector %s", identity_of(connector))


@cmdlet("Remove-ReceiveConnector", Parameter("Identity", b.anything, mandatory=True),
        mutating=True)
def remove_receive_connector(call: Call) -> None:
    """Delete one connector; needs ``Confirm=False`` because nobody can answer a prompt (2.4)."""
    state = call.state
    connector = find_one(state, call.get("Identity"))
    require_confirm_false(call.get("Confirm"), call.get("WhatIf"),
                          f'Removing Receive connector "{identity_of(connector)}".')
    state.receive_connectors.remove(connector)
    logger.info("Remove-ReceiveConnector %s", identity_of(connector))
