"""Reading connectors and servers through the shell, the way that is safe on Exchange.

Receive connectors are always listed per server and matched by name here, never fetched by an
``-Identity`` that might not exist: a failing Get writes a "Cmdlet failed" event on the server
each time, and an empty Identity returns every connector of the organization.
"""

from __future__ import annotations

import logging
import re
import socket
import time
from dataclasses import dataclass

from .errors import InputError
from .models import ExchangeServer, ReceiveConnector
from .parameters import unpasted
from .shell import Shell

logger = logging.getLogger(__name__)


def split_identity(identity: str, *, source: str = "parameter connector") -> tuple[str, str]:
    """``EX01\\Relay Scanners`` → (``EX01``, ``Relay Scanners``); a bare name → ("", name)."""
    # Pasted names bring typographic quotes and non-breaking spaces; a name typed for a
    # PowerShell double-quoted string may bring a doubled backslash.
    text = re.sub(r"\\+", r"\\", unpasted(str(identity or "")))
    if not text:
        raise InputError(identity, "no connector was named", source=source,
                         accepted=r"SERVER\Name, for example EX01\Relay Scanners")
    server, _, name = text.rpartition("\\")
    if not name.strip():
        raise InputError(identity, "the connector name is empty", source=source,
                         accepted=r"SERVER\Name")
    return server.strip(), name.strip()


def receive_connectors(shell: Shell, server: str | None = None) -> list[ReceiveConnector]:
    """Every Receive connector of ``server`` (of the organization when None)."""
    records = (shell.invoke("Get-ReceiveConnector", Server=server) if server
               else shell.invoke("Get-ReceiveConnector"))
    return [ReceiveConnector.from_record(r) for r in records]


@dataclass
class ServerConnectors:
    """One read of a server's Receive connectors: the one asked for and its neighbours.

    Args:
        connector: the connector asked for.
        neighbours: the other connectors of the same server (Exchange's conflict rules
            compare a connector with these).
        read_at: ``time.monotonic()`` when the read was made, to judge how fresh it is.
    """

    connector: ReceiveConnector
    neighbours: list[ReceiveConnector]
    read_at: float


def read_receive_connector(
    shell: Shell, identity: str, *, source: str = "parameter connector"
) -> ServerConnectors:
    """Read ``identity`` together with the other connectors of its server, in one call."""
    server, name = split_identity(identity, source=source)
    candidates = receive_connectors(shell, server or None)
    found = _match(candidates, identity, server, name, source)
    neighbours = [c for c in candidates
                  if c.server.lower() == found.server.lower() and c.identity != found.identity]
    return ServerConnectors(found, neighbours, time.monotonic())


def find_receive_connector(
    shell: Shell, identity: str, *, source: str = "parameter connector"
) -> ReceiveConnector:
    """The Receive connector named ``identity``, read by listing its server.

    Raises:
        InputError: no connector, or more than one, matches; the message lists what exists.
    """
    return read_receive_connector(shell, identity, source=source).connector


def _match(
    candidates: list[ReceiveConnector], identity: str, server: str, name: str, source: str
) -> ReceiveConnector:
    matches = [c for c in candidates if c.name.lower() == name.lower()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        known = ", ".join(sorted(c.identity for c in candidates)) or "none"
        where = f"on {server}" if server else "in the organization"
        raise InputError(identity, f"no Receive connector of that name {where}",
                         source=source, accepted=f"one of: {known}")
    found = ", ".join(c.identity for c in matches)
    raise InputError(identity, f"the name matches several connectors ({found})", source=source,
                     accepted=r"SERVER\Name")


def exchange_servers(shell: Shell, *, resolve_addresses: bool = True) -> list[ExchangeServer]:
    """Every Exchange server as Get-ExchangeServer lists it (Edge Subscriptions included), with
    its addresses, from DNS where Exchange does not say and ``resolve_addresses`` is set."""
    servers = [ExchangeServer.from_record(r) for r in shell.invoke("Get-ExchangeServer")]
    for server in servers:
        if resolve_addresses and not server.addresses and server.fqdn:
            server.addresses = _resolve(server.fqdn)
    return servers


def _resolve(fqdn: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(fqdn, None)
    except OSError as error:
        logger.warning("cannot resolve %s to check relay ranges against it: %s", fqdn, error)
        return []
    return sorted({info[4][0] for info in infos})
