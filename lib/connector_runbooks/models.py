"""Typed views of the plain records the shell returns.

The shell hands back dicts keyed by Exchange's property names; these classes give the runbooks
the few properties they reason about, named as the Exchange documentation names them, and keep
the whole record for display.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)


def read_flag(record: dict[str, Any], name: str, default: bool) -> bool:
    """A True/False property of a record, read strictly.

    ``bool("False")`` is True, so a flag that arrives as text (from a CSV export or an older
    serializer) would read the wrong way round; only real booleans and the texts ``True`` and
    ``False`` (any letter case) count.

    Args:
        record: the record, keyed by Exchange's property names.
        name: the property, for example ``Enabled``.
        default: the value when the property is missing or is neither True nor False; the
            latter is logged as a warning.
    """
    value = record.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    logger.warning("%s: %s is %r, which is neither True nor False; taken as %s",
                   record.get("Identity") or record.get("Name") or "a record", name, value,
                   default)
    return default


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value]


#: The Receive connectors Exchange setup creates on each server, named after the server.
SETUP_CONNECTORS = ("Default Frontend {}", "Client Frontend {}", "Outbound Proxy Frontend {}",
                    "Default {}", "Client Proxy {}", "Default internal receive connector {}")


@dataclass
class ReceiveConnector:
    """A Receive connector on one server.

    Args:
        identity: ``SERVER\\Name`` as Exchange shows it.
        remote_ip_ranges: the RemoteIPRanges entries as Exchange displays them.
        record: the full record as read, for display.
    """

    identity: str
    name: str
    server: str
    transport_role: str
    bindings: list[str]
    remote_ip_ranges: list[str]
    permission_groups: list[str]
    auth_mechanism: list[str]
    protocol_logging_level: str
    enabled: bool
    record: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def created_by_setup(self) -> bool:
        """Whether Exchange setup created this connector (mail flow depends on its ranges)."""
        names = {pattern.format(self.server).lower() for pattern in SETUP_CONNECTORS}
        return self.name.lower() in names

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> ReceiveConnector:
        identity = str(record.get("Identity", ""))
        server, _, name = identity.rpartition("\\")
        return cls(
            identity=identity,
            name=str(record.get("Name") or name),
            server=str(record.get("Server") or server),
            transport_role=str(record.get("TransportRole", "")),
            bindings=as_list(record.get("Bindings")),
            remote_ip_ranges=as_list(record.get("RemoteIPRanges")),
            permission_groups=as_list(record.get("PermissionGroups")),
            auth_mechanism=as_list(record.get("AuthMechanism")),
            protocol_logging_level=str(record.get("ProtocolLoggingLevel", "None")),
            enabled=read_flag(record, "Enabled", True),
            record=dict(record),
        )


@dataclass
class ExchangeServer:
    """An Exchange server of the organization.

    Args:
        addresses: the server's IP addresses. The simulated organization reports them as
            ``IPAddresses``; against a real server they come from DNS.
    """

    name: str
    fqdn: str
    server_role: list[str]
    version: str
    site: str
    is_edge: bool
    addresses: list[str]
    record: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> ExchangeServer:
        role = record.get("ServerRole", [])
        roles = as_list(role) if not isinstance(role, str) else [r.strip() for r in role.split(",")]
        return cls(
            name=str(record.get("Name", "")),
            fqdn=str(record.get("Fqdn", "")),
            server_role=roles,
            version=str(record.get("AdminDisplayVersion", "")),
            site=str(record.get("Site", "")),
            is_edge=read_flag(record, "IsEdgeServer", "Edge" in roles),
            addresses=as_list(record.get("IPAddresses")),
            record=dict(record),
        )

    @property
    def is_mailbox(self) -> bool:
        return read_flag(self.record, "IsMailboxServer", "Mailbox" in self.server_role)
