"""Exchange servers and their transport services: Get-ExchangeServer, Get-TransportService and
Get-FrontendTransportService.

Real Get-ExchangeServer has no address property. The simulator adds ``IPAddresses`` (a
multi-valued list of the server's addresses) as its stand-in for what DNS would answer, because
the library needs the Exchange servers' addresses to warn about relay ranges that contain
them (reference 5.6, pitfall 6).
"""

from __future__ import annotations

from typing import Any

from . import binding as b
from .binding import Parameter
from .failures import not_found
from .registry import Call, cmdlet
from .state import OrgState
from .values import format_size, format_timespan, parse_iso
from .wire import MultiValued, WireObject

EXCHANGE_INSTALL_PATH = "C:\\Program Files\\Microsoft\\Exchange Server\\V15\\"

SERVER_TYPE_NAMES = [
    "Microsoft.Exchange.Data.Directory.Management.ExchangeServer",
    "Microsoft.Exchange.Data.Directory.ADPresentationObject",
    "Microsoft.Exchange.Data.ConfigurableObject",
    "System.Object",
]
TRANSPORT_SERVICE_TYPE_NAMES = [
    "Microsoft.Exchange.Data.Directory.SystemConfiguration.TransportServer",
    "Microsoft.Exchange.Data.Directory.ADPresentationObject",
    "Microsoft.Exchange.Data.ConfigurableObject",
    "System.Object",
]
FRONTEND_SERVICE_TYPE_NAMES = [
    "Microsoft.Exchange.Data.Directory.SystemConfiguration.FrontendTransportServer",
    "Microsoft.Exchange.Data.Directory.ADPresentationObject",
    "Microsoft.Exchange.Data.ConfigurableObject",
    "System.Object",
]

_DAY = 86400
_MB = 1024 * 1024

# Protocol log limits, the same on both services (protocol-logs.md 3.2).
_LOG_LIMITS: dict[str, Any] = {
    "ReceiveProtocolLogMaxAge": 30 * _DAY,
    "SendProtocolLogMaxAge": 30 * _DAY,
    "ReceiveProtocolLogMaxDirectorySize": 250 * _MB,
    "SendProtocolLogMaxDirectorySize": 250 * _MB,
    "ReceiveProtocolLogMaxFileSize": 10 * _MB,
    "SendProtocolLogMaxFileSize": 10 * _MB,
}


def _log_folders(service_folder: str) -> dict[str, str]:
    base = EXCHANGE_INSTALL_PATH + f"TransportRoles\\Logs\\{service_folder}\\ProtocolLog\\"
    return {"ReceiveProtocolLogPath": base + "SmtpReceive",
            "SendProtocolLogPath": base + "SmtpSend"}


# Defaults of the settings shared by all connectors of one service (protocol-logs.md 3.2 and
# exchange-connectors.md 6.4); a server's stored "TransportService" or
# "FrontendTransportService" dict overrides them.
TRANSPORT_DEFAULTS: dict[str, Any] = {
    **_log_folders("Hub"),
    **_LOG_LIMITS,
    "IntraOrgConnectorProtocolLoggingLevel": "None",
    "MessageExpirationTimeout": 2 * _DAY,
    "MessageRetryInterval": 15 * 60,
    "TransientFailureRetryCount": 6,
    "TransientFailureRetryInterval": 5 * 60,
    "OutboundConnectionFailureRetryInterval": 10 * 60,
}
FRONTEND_DEFAULTS: dict[str, Any] = {
    **_log_folders("FrontEnd"),
    **_LOG_LIMITS,
    "IntraOrgConnectorProtocolLoggingLevel": "Verbose",
}
_TIMESPANS = {"ReceiveProtocolLogMaxAge", "SendProtocolLogMaxAge", "MessageExpirationTimeout",
              "MessageRetryInterval", "TransientFailureRetryInterval",
              "OutboundConnectionFailureRetryInterval"}
_SIZES = {"ReceiveProtocolLogMaxDirectorySize", "SendProtocolLogMaxDirectorySize",
          "ReceiveProtocolLogMaxFileSize", "SendProtocolLogMaxFileSize"}


def transport_settings(server: dict[str, Any], service: str = "TransportService") -> dict[str, Any]:
    """One service's settings on ``server`` in stored form (seconds, bytes)."""
    defaults = TRANSPORT_DEFAULTS if service == "TransportService" else FRONTEND_DEFAULTS
    return {**defaults, **server.get(service, {})}


def render_server(state: OrgState, server: dict[str, Any]) -> WireObject:
    """A server as Get-ExchangeServer writes it."""
    mailbox = server["ServerRole"] == "Mailbox"
    properties = {
        "Identity": server["Name"],
        "Name": server["Name"],
        "Fqdn": server["Fqdn"],
        "Domain": server["Fqdn"].split(".", 1)[1] if "." in server["Fqdn"] else None,
        "ServerRole": server["ServerRole"],
        "AdminDisplayVersion": server["AdminDisplayVersion"],
        "Edition": server["Edition"],
        "Site": state.site_id(server["Site"]),
        "IsMailboxServer": mailbox,
        "IsHubTransportServer": mailbox,
        "IsClientAccessServer": mailbox,
        "IsFrontendTransportServer": mailbox,
        "IsEdgeServer": server["ServerRole"] == "Edge",
        "IsExchangeTrialEdition": False,
        "IPAddresses": MultiValued(list(server["IPAddresses"]), "System.Net.IPAddress"),
        "DistinguishedName": state.server_dn(server["Name"]),
        "Guid": server["Guid"],
        "WhenCreated": parse_iso(server["WhenCreated"]),
        "WhenChanged": parse_iso(server["WhenChanged"]),
        "IsValid": True,
    }
    return WireObject(list(SERVER_TYPE_NAMES), server["Name"], properties)


def render_service(state: OrgState, server: dict[str, Any], service: str) -> WireObject:
    """A server's transport service (Hub or front end) with its protocol log settings."""
    properties: dict[str, Any] = {"Identity": server["Name"], "Name": server["Name"]}
    for name, value in transport_settings(server, service).items():
        if name in _TIMESPANS:
            properties[name] = format_timespan(value)
        elif name in _SIZES:
            properties[name] = format_size(value)
        else:
            properties[name] = value
    properties["ExchangeVersion"] = "0.1 (8.0.535.0)"
    properties["DistinguishedName"] = state.server_dn(server["Name"])
    properties["Guid"] = server["Guid"]
    properties["IsValid"] = True
    types = TRANSPORT_SERVICE_TYPE_NAMES if service == "TransportService" else \
        FRONTEND_SERVICE_TYPE_NAMES
    return WireObject(list(types), server["Name"], properties)


def _servers(call: Call, *, mailbox_only: bool) -> list[dict[str, Any]]:
    state = call.state
    identity = call.get("Identity")
    candidates = [s for s in state.servers if s["ServerRole"] == "Mailbox" or not mailbox_only]
    if identity is None:
        return candidates
    server = state.server(identity)
    if server is None or server not in candidates:
        raise not_found(identity, state.domain_controller)
    return [server]


@cmdlet("Get-ExchangeServer", Parameter("Identity", b.anything))
def get_exchange_server(call: Call) -> None:
    """Every Exchange server, Edge servers with an Edge Subscription included."""
    call.output.extend(render_server(call.state, s) for s in _servers(call, mailbox_only=False))


@cmdlet("Get-TransportService", Parameter("Identity", b.anything))
def get_transport_service(call: Call) -> None:
    """The Transport (Hub) service of each Mailbox server."""
    call.output.extend(render_service(call.state, s, "TransportService")
                       for s in _servers(call, mailbox_only=True))


@cmdlet("Get-FrontendTransportService", Parameter("Identity", b.anything))
def get_frontend_transport_service(call: Call) -> None:
    """The Front End Transport service of each Mailbox server."""
    call.output.extend(render_service(call.state, s, "FrontendTransportService")
                       for s in _servers(call, mailbox_only=True))
