"""The simulated organization's state: one JSON document, read and written whole.

The document holds what Active Directory would hold (servers, connectors) in stored form:
sizes in bytes, flags as lists of names, multi-valued properties as lists of their display
strings, times as ISO-8601 text. Display shapes are made when an object is written out.

Writes go to a temporary file in the same folder that then replaces the state file, so a
reader in another process (a notebook kernel, a test) never sees half a document.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

from ..errors import RunbookError

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1

ADMIN_GROUP = "CN=Exchange Administrative Group (FYDIBOHF23SPDLT),CN=Administrative Groups"
ROUTING_GROUP = "CN=Exchange Routing Group (DWBGZMFD01QNBJR),CN=Routing Groups"


def load_state(path: Path) -> dict[str, Any]:
    """The state document stored at ``path``."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RunbookError(
            f"{path}: the simulated organization's state file is damaged ({error}); "
            "`connector-runbooks simulator reset` restores the demo organization"
        ) from error
    if not isinstance(data, dict) or data.get("SchemaVersion") != SCHEMA_VERSION:
        raise RunbookError(
            f"{path}: state schema {data.get('SchemaVersion')!r}, expected {SCHEMA_VERSION}; "
            "reset the simulated organization"
        )
    return data


def save_state(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, then ``os.replace``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=1, sort_keys=False)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    logger.debug("saved simulated organization state to %s", path)


def escape_rdn(value: str) -> str:
    """A name as it appears in a distinguished name (RFC 4514 escaping)."""
    escaped = "".join("\\" + ch if ch in ',+"\\<>;=' else ch for ch in value)
    if escaped.startswith((" ", "#")):
        escaped = "\\" + escaped
    if escaped.endswith(" "):
        escaped = escaped[:-1] + "\\ "
    return escaped


def object_guid(distinguished_name: str, created: str) -> str:
    """A stable GUID for an object created at ``created`` under this DN.

    Re-creating an object with the same name gives a new GUID, as Active Directory does.
    """
    return str(uuid.uuid5(uuid.NAMESPACE_X500, f"{distinguished_name}|{created}"))


class OrgState:
    """Read and change the state document with Exchange's naming.

    Args:
        data: the document; changed in place by the cmdlets.
    """

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    # -- organization ------------------------------------------------------------------------

    @property
    def organization(self) -> dict[str, Any]:
        return self.data["Organization"]

    @property
    def domain_controller(self) -> str:
        return self.organization["DomainController"]

    @property
    def endpoint_server(self) -> str:
        """The server that hosts the remote endpoint: the "local" server of every cmdlet."""
        return self.organization["EndpointServer"]

    @property
    def servers(self) -> list[dict[str, Any]]:
        return self.data["Servers"]

    @property
    def receive_connectors(self) -> list[dict[str, Any]]:
        return self.data["ReceiveConnectors"]

    @property
    def send_connectors(self) -> list[dict[str, Any]]:
        return self.data["SendConnectors"]

    @property
    def faults(self) -> dict[str, Any]:
        return self.data.setdefault("Faults", {})

    # -- distinguished names -----------------------------------------------------------------

    @property
    def domain_dn(self) -> str:
        return ",".join(f"DC={part}" for part in self.organization["Domain"].split("."))

    @property
    def organization_dn(self) -> str:
        return (f"CN={escape_rdn(self.organization['Name'])},CN=Microsoft Exchange,CN=Services,"
                f"CN=Configuration,{self.domain_dn}")

    def server_dn(self, server: str) -> str:
        return f"CN={escape_rdn(server)},CN=Servers,{ADMIN_GROUP},{self.organization_dn}"

    def receive_connector_dn(self, server: str, name: str) -> str:
        return (f"CN={escape_rdn(name)},CN=SMTP Receive Connectors,CN=Protocols,"
                f"{self.server_dn(server)}")

    def send_connector_dn(self, name: str) -> str:
        return (f"CN={escape_rdn(name)},CN=Connections,{ROUTING_GROUP},{ADMIN_GROUP},"
                f"{self.organization_dn}")

    def site_id(self, site: str | None) -> str | None:
        """A site as its ADObjectId displays: ``corp.example.com/Configuration/Sites/<site>``."""
        if not site:
            return None
        return f"{self.organization['Domain']}/Configuration/Sites/{site}"

    # -- lookups -----------------------------------------------------------------------------

    def server(self, identity: str) -> dict[str, Any] | None:
        """The server whose name, FQDN, DN or GUID is ``identity`` (any letter case)."""
        key = str(identity).lower()
        for server in self.servers:
            if key in (server["Name"].lower(), server["Fqdn"].lower(), server["Guid"].lower(),
                       self.server_dn(server["Name"]).lower()):
                return server
        return None

    def receive_connectors_of(self, server: str) -> list[dict[str, Any]]:
        return [c for c in self.receive_connectors if c["Server"].lower() == server.lower()]

    def host_address(self, host: str) -> str:
        """The address a host name resolves to in the simulated DNS.

        Known names come from the state; any other name gets a stable address from the
        documentation network 203.0.113.0/24, so queue errors can name an endpoint.
        """
        known = self.data.setdefault("HostAddresses", {})
        if host.lower() in known:
            return known[host.lower()]
        digest = uuid.uuid5(uuid.NAMESPACE_DNS, host.lower()).int
        return f"203.0.113.{100 + digest % 150}"
