"""The fictional demo organization the simulator starts with.

Notebooks, parameter files and tests rely on these facts; change them only together with
those.

Organization ``Example Corp``, domain ``corp.example.com``, domain controller
``dc01.corp.example.com``, one site ``Default-First-Site-Name``. The remote endpoint (the
"local" server of New- cmdlets without -Server) is ``EX01``.

Servers (Get-ExchangeServer; ``IPAddresses`` is the simulator's stand-in for DNS):

=======  ======  ===========================  ==============================  ===========
Name     Role    AdminDisplayVersion          Fqdn                            IPAddresses
=======  ======  ===========================  ==============================  ===========
EX01     Mailbox Version 15.1 (Build 2507.6)  ex01.corp.example.com           10.0.1.11
EX02     Mailbox Version 15.2 (Build 1544.4)  ex02.corp.example.com           10.0.1.12
EX03     Mailbox Version 15.2 (Build 1544.4)  ex03.corp.example.com           10.0.1.13
EDGE01   Edge    Version 15.2 (Build 1544.4)  edge01.perimeter.example.com    192.0.2.50
=======  ======  ===========================  ==============================  ===========

EX01 is the old server (Exchange 2016 CU23); EX02, EX03 and EDGE01 run Exchange 2019 CU14.

Receive connectors:

- On each Mailbox server, the five that setup creates (reference 5.8): ``Default Frontend
  <S>`` (protocol logging Verbose), ``Client Frontend <S>``, ``Outbound Proxy Frontend <S>``,
  ``Default <S>``, ``Client Proxy <S>``.
- ``EX01\\Relay Scanners``: FrontendTransport, Bindings ``0.0.0.0:25``, PermissionGroups
  AnonymousUsers, AuthMechanism Tls, ProtocolLoggingLevel Verbose, 36 RemoteIPRanges: 29
  single addresses in 10.20.1.0/24 and 10.20.2.0/24 (printers and scanners), the ranges
  ``10.20.3.10-10.20.3.20``, ``10.20.4.100-10.20.4.120`` and ``10.20.5.1-10.20.5.15``, the
  CIDR blocks ``10.30.0.0/28``, ``10.30.1.0/29`` and ``10.30.2.0/27``, and ``fd00:20::25``.
- ``EX01\\Relay Applications``: FrontendTransport, ``0.0.0.0:25``, AnonymousUsers, Tls,
  ProtocolLoggingLevel None, RemoteIPRanges 10.40.0.10, 10.40.0.11, 10.40.0.12, 10.40.0.20,
  10.40.0.21.
- ``EX02\\Relay Scanners``: FrontendTransport, ``0.0.0.0:25``, AnonymousUsers, Tls,
  ProtocolLoggingLevel Verbose, RemoteIPRanges 10.20.1.11 and 10.20.1.12 (also on EX01's
  relay connector) and 10.20.6.5 (new).

None of them conflict (5.6): the relay connectors share ``0.0.0.0:25`` with Default Frontend
in the same role, and their ranges lie inside its all-addresses ranges; the relay connectors
on EX01 have no range in common.

Send connectors:

- ``To Internet``: AddressSpaces ``SMTP:*;1``, SourceTransportServers EX01 and EX02,
  DNSRoutingEnabled False, SmartHosts ``smtp1.relay.example.net`` (203.0.113.10) and
  ``[203.0.113.25]``, created with usage Internet (MaxMessageSize 35 MB).
- ``To Partner``: ``SMTP:partner.example.net;1``, SourceTransportServers EX01, DNS routing
  (MX host ``mail.partner.example.net``, 203.0.113.40).
- ``EdgeSync - Default-First-Site-Name to Internet``: ``SMTP:*;100``, SourceTransportServers
  EDGE01, DNS routing.

No server starts with port 25 blocked.
"""

from __future__ import annotations

from typing import Any

from .receive import ALL_IPV4, ALL_IPV6, new_receive_connector
from .send import new_send_connector
from .state import SCHEMA_VERSION, OrgState, object_guid

ORGANIZATION = "Example Corp"
DOMAIN = "corp.example.com"
DOMAIN_CONTROLLER = "dc01.corp.example.com"
SITE = "Default-First-Site-Name"

_SERVERS = (
    # name, role, version, fqdn, address, created
    ("EX01", "Mailbox", "Version 15.1 (Build 2507.6)", "ex01.corp.example.com", "10.0.1.11",
     "2019-06-03T09:12:00+00:00"),
    ("EX02", "Mailbox", "Version 15.2 (Build 1544.4)", "ex02.corp.example.com", "10.0.1.12",
     "2024-04-15T10:02:00+00:00"),
    ("EX03", "Mailbox", "Version 15.2 (Build 1544.4)", "ex03.corp.example.com", "10.0.1.13",
     "2024-04-15T11:40:00+00:00"),
    ("EDGE01", "Edge", "Version 15.2 (Build 1544.4)", "edge01.perimeter.example.com",
     "192.0.2.50", "2024-05-02T14:20:00+00:00"),
)

RELAY_SCANNERS_EX01 = (
    [f"10.20.1.{host}" for host in range(11, 26)]
    + ["10.20.1.30", "10.20.1.31"]
    + [f"10.20.2.{host}" for host in (5, 6, 7, 8, 21, 22, 23, 40, 41, 42, 60, 61)]
    + ["10.20.3.10-10.20.3.20", "10.20.4.100-10.20.4.120", "10.20.5.1-10.20.5.15"]
    + ["10.30.0.0/28", "10.30.1.0/29", "10.30.2.0/27"]
    + ["fd00:20::25"]
)
RELAY_APPLICATIONS_EX01 = ["10.40.0.10", "10.40.0.11", "10.40.0.12", "10.40.0.20", "10.40.0.21"]
RELAY_SCANNERS_EX02 = ["10.20.1.11", "10.20.1.12", "10.20.6.5"]

_ALL = [ALL_IPV6, ALL_IPV4]
_CLIENT_AUTH = ["Tls", "Integrated", "BasicAuth", "BasicAuthRequireTLS"]
_SERVER_AUTH = _CLIENT_AUTH + ["ExchangeServer"]


def default_receive_connectors(state: OrgState, server: str, created: str) -> list[dict[str, Any]]:
    """The five receive connectors setup creates on a 2016/2019 Mailbox server (5.8)."""

    def both(port: int) -> list[str]:
        return [f"[::]:{port}", f"0.0.0.0:{port}"]

    return [
        new_receive_connector(
            state, server, f"Default Frontend {server}", created=created,
            transport_role="FrontendTransport", bindings=both(25), remote_ip_ranges=_ALL,
            auth_mechanism=_SERVER_AUTH,
            permission_groups=["AnonymousUsers", "ExchangeServers", "ExchangeLegacyServers"],
            protocol_logging_level="Verbose"),
        new_receive_connector(
            state, server, f"Client Frontend {server}", created=created,
            transport_role="FrontendTransport", bindings=both(587), remote_ip_ranges=_ALL,
            auth_mechanism=_CLIENT_AUTH, permission_groups=["ExchangeUsers"]),
        new_receive_connector(
            state, server, f"Outbound Proxy Frontend {server}", created=created,
            transport_role="FrontendTransport", bindings=both(717), remote_ip_ranges=_ALL,
            auth_mechanism=_SERVER_AUTH, permission_groups=["ExchangeServers"]),
        new_receive_connector(
            state, server, f"Default {server}", created=created,
            transport_role="HubTransport", bindings=both(2525), remote_ip_ranges=_ALL,
            auth_mechanism=_SERVER_AUTH,
            permission_groups=["ExchangeUsers", "ExchangeServers", "ExchangeLegacyServers"],
            MaxRecipientsPerMessage=5000, SizeEnabled="EnabledWithoutValue",
            MaxInboundConnectionPercentagePerSource=100),
        new_receive_connector(
            state, server, f"Client Proxy {server}", created=created,
            transport_role="HubTransport", bindings=both(465), remote_ip_ranges=_ALL,
            auth_mechanism=_SERVER_AUTH, permission_groups=["ExchangeUsers", "ExchangeServers"]),
    ]


def _relay(state: OrgState, server: str, name: str, ranges: list[str], logging: str,
           created: str) -> dict[str, Any]:
    return new_receive_connector(
        state, server, name, created=created, transport_role="FrontendTransport",
        bindings=["0.0.0.0:25"], remote_ip_ranges=list(ranges), auth_mechanism=["Tls"],
        permission_groups=["AnonymousUsers"], protocol_logging_level=logging)


def demo_state() -> dict[str, Any]:
    """A fresh state document holding the demo organization."""
    data: dict[str, Any] = {
        "SchemaVersion": SCHEMA_VERSION,
        "Organization": {"Name": ORGANIZATION, "Domain": DOMAIN,
                         "DomainController": DOMAIN_CONTROLLER, "EndpointServer": "EX01"},
        "Servers": [],
        "ReceiveConnectors": [],
        "SendConnectors": [],
        "HostAddresses": {"smtp1.relay.example.net": "203.0.113.10",
                          "mail.partner.example.net": "203.0.113.40"},
        "MxHosts": {"partner.example.net": "mail.partner.example.net"},
        "Faults": {"Port25Blocked": {}},
    }
    state = OrgState(data)

    for name, role, version, fqdn, address, created in _SERVERS:
        state.servers.append({
            "Name": name, "ServerRole": role, "AdminDisplayVersion": version, "Fqdn": fqdn,
            "IPAddresses": [address], "Site": SITE, "Edition": "Standard",
            "Guid": object_guid(state.server_dn(name), created),
            "WhenCreated": created, "WhenChanged": created,
        })
    for name, role, _, _, _, created in _SERVERS:
        if role == "Mailbox":
            state.receive_connectors.extend(default_receive_connectors(state, name, created))

    state.receive_connectors.extend([
        _relay(state, "EX01", "Relay Scanners", RELAY_SCANNERS_EX01, "Verbose",
               "2020-02-11T13:05:00+00:00"),
        _relay(state, "EX01", "Relay Applications", RELAY_APPLICATIONS_EX01, "None",
               "2021-09-20T08:30:00+00:00"),
        _relay(state, "EX02", "Relay Scanners", RELAY_SCANNERS_EX02, "Verbose",
               "2024-06-04T09:15:00+00:00"),
    ])

    state.send_connectors.extend([
        new_send_connector(
            state, "To Internet", created="2019-06-05T16:45:00+00:00",
            address_spaces=["SMTP:*;1"], source_transport_servers=["EX01", "EX02"],
            dns_routing_enabled=False,
            smart_hosts=["smtp1.relay.example.net", "[203.0.113.25]"], usage="Internet"),
        new_send_connector(
            state, "To Partner", created="2021-03-01T10:00:00+00:00",
            address_spaces=["SMTP:partner.example.net;1"], source_transport_servers=["EX01"],
            dns_routing_enabled=True, smart_hosts=[], usage="Partner"),
        new_send_connector(
            state, "EdgeSync - Default-First-Site-Name to Internet",
            created="2024-05-02T14:35:00+00:00", address_spaces=["SMTP:*;100"],
            source_transport_servers=["EDGE01"], dns_routing_enabled=True, smart_hosts=[],
            usage="Internet"),
    ])
    return data
