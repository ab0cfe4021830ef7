"""The simulated organization's state: one JSON document, read and written whole.

The document holds what Active Directory would hold (servers, connectors) in stored form:
sizes in bytes, flags as lists of names, multi-valued properties as lists of their display
strings, times as ISO-8601 text. Display shapes are made when an object is written out.

Writes go to a temporary file in the same folder that then replaces the state file, so a
reader in another process (a notebook kernel, a test) never sees half a document. A change
(read, change, write) runs under :func:`locked`, a lock file beside the state file, so two
runs on one organization (a notebook and the emulator, two scheduled runs) never lose each
other's changes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import RunbookError

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1

ADMIN_GROUP = "CN=Exchange Administrative Group (FYDIBOHF23SPDLT),CN=Administrative Groups"
ROUTING_GROUP = "CN=Exchange Routing Group (DWBGZMFD01QNBJR),CN=Routing Groups"

#: How long a run waits for another run's lock before giving up, in seconds.
LOCK_TIMEOUT = 10.0
#: A lock older than this is left by a run that died (a change takes milliseconds).
STALE_LOCK_AGE = 60.0
#: How often ``os.replace`` of the state file is tried while it is held open (Windows).
REPLACE_ATTEMPTS = 5


def lock_path(path: Path) -> Path:
    """The lock file of the state file ``path``: ``<state>.lock`` beside it."""
    return path.with_name(path.name + ".lock")


@contextlib.contextmanager
def locked(path: Path, *, timeout: float = LOCK_TIMEOUT,
           stale_after: float = STALE_LOCK_AGE) -> Iterator[None]:
    """Hold the lock of the state file ``path`` for one read-change-write.

    The lock is a file created with ``O_CREAT | O_EXCL``, which works alike on Windows and
    POSIX and on network folders. It is not re-entrant: take it once per change.

    Args:
        path: the state file.
        timeout: how long to wait for another run to finish, in seconds.
        stale_after: a lock older than this many seconds is broken, with a warning.

    Raises:
        RunbookError: another run held the lock for longer than ``timeout``.
    """
    lock = lock_path(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    delay = 0.002
    while True:
        try:
            handle = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except (FileExistsError, PermissionError):
            # Windows answers PermissionError while the previous lock is being deleted.
            pass
        age = _age(lock)
        if age is not None and age > stale_after:
            # A run that died left it. Another waiter may break it at the same moment; the
            # O_EXCL create above still lets only one of them in.
            logger.warning("breaking the lock %s: it is %.0f s old, so the run that took it "
                           "has stopped", lock, age)
            lock.unlink(missing_ok=True)
            continue
        if time.monotonic() >= deadline:
            raise RunbookError(
                f"{path}: another run is changing the simulated organization and has not "
                f"finished within {timeout:g} s (lock file {lock}); try again, or delete the "
                f"lock file if no other run is going on")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
    try:
        # Who holds it, for a person looking at a lock that stays.
        os.write(handle, f"{os.getpid()} {socket.gethostname()}\n".encode())
        os.close(handle)
        yield
    finally:
        lock.unlink(missing_ok=True)


def _age(lock: Path) -> float | None:
    """Seconds since the lock file was written; None when it is gone."""
    try:
        return time.time() - lock.stat().st_mtime
    except OSError:
        return None


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
    """Write ``data`` to ``path`` atomically (temporary file, then ``os.replace``).

    Callers that read, change and write hold :func:`locked` around all three.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=1, sort_keys=False)
            out.flush()
            os.fsync(out.fileno())
        _replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    logger.debug("saved simulated organization state to %s", path)


def _replace(source: str, target: Path) -> None:
    """``os.replace``, tried again for a moment while the target is held open.

    On Windows an antivirus scanner or the search indexer can hold the state file open for a
    moment after it was written, and replacing it then fails with PermissionError.
    """
    delay = 0.05
    for attempt in range(1, REPLACE_ATTEMPTS + 1):
        try:
            os.replace(source, target)
            return
        except PermissionError as error:
            if attempt == REPLACE_ATTEMPTS:
                raise
            logger.debug("replacing %s failed (%s); trying again in %.2f s", target, error,
                         delay)
            time.sleep(delay)
            delay *= 2


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
