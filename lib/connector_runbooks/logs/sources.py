"""Where the protocol logs come from: a local copy, each server's admin share, or the simulator.

Every source answers one question: for this server, which log folders are there, and how are
their files read. Pick one with :func:`open_log_source`:

``"simulated"``
    The simulated organization's logs, generated deterministically for the servers the
    shell knows (see :mod:`connector_runbooks.simulated.protocol_logs`) into a cache folder.

``"smb"``
    Each server's administrative share, read with ``smbprotocol``. The folder is the
    server's ``ReceiveProtocolLogPath`` as ``Get-FrontendTransportService`` (front-end
    connectors) and ``Get-TransportService`` (Hub connectors) report it, turned into
    ``\\\\<server fqdn>\\<drive>$\\<rest of the path>``; nothing is hard-coded, so a server
    whose logs live on ``D:`` is read from ``D$``. Credentials come from
    ``CONNECTOR_RUNBOOKS_USERNAME`` / ``CONNECTOR_RUNBOOKS_PASSWORD`` or the keyring, as for
    the remote shell, or from the Kerberos ticket cache; they are never logged.

a folder path (or ``folder:<path>``)
    Logs copied to this machine. The layout is ``<root>/<SERVER>/...``: one folder per server,
    named as the server (letter case does not matter), holding the log files directly or any
    tree below (for example a copy of ``TransportRoles\\Logs``); every folder with log files
    in it is read as one log folder. When only one server is reviewed, ``<root>`` may also be
    that server's log folder itself.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import ipaddress
import json
import logging
import os
import re
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..errors import ExchangeError, InputError, TransportError
from ..shell import Shell
from .files import LogFile, LogFolder, local_folders, ordered
from .names import is_log_file_name

logger = logging.getLogger(__name__)

#: The transport service whose settings hold the log folder of each connector role.
SERVICE_OF_ROLE = {"FrontendTransport": "Get-FrontendTransportService",
                   "HubTransport": "Get-TransportService"}


class LogSource(ABC):
    """Finds a server's protocol log folders."""

    kind = "abstract"

    @abstractmethod
    def folders(self, server: str, shell: Shell | None = None,
                roles: Iterable[str] = ("FrontendTransport",)) -> list[LogFolder]:
        """The log folders of ``server``.

        Args:
            server: the server's name, as in connector identities.
            shell: the shell, for sources that read settings from Exchange.
            roles: the connector roles whose receive logs are wanted: ``FrontendTransport``
                and/or ``HubTransport``.
        """

    def describe(self) -> str:
        return self.kind


# ---------------------------------------------------------------------------------------------
# A local folder


class LocalLogSource(LogSource):
    """Logs copied to a local (or mounted) folder.

    Args:
        root: ``<root>/<SERVER>/...``, or a single server's log folder.
    """

    kind = "folder"

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser()
        if not self.root.is_dir():
            raise InputError(str(root), "is not a folder", source="parameter log_source",
                             accepted="a folder holding <SERVER>/ folders of copied logs, "
                                      "'simulated' or 'smb'")

    def _server_folder(self, server: str) -> Path | None:
        for child in self.root.iterdir():
            if child.is_dir() and child.name.lower() == server.lower():
                return child
        return None

    def folders(self, server: str, shell: Shell | None = None,
                roles: Iterable[str] = ("FrontendTransport",)) -> list[LogFolder]:
        folder = self._server_folder(server)
        if folder is None:
            if any(is_log_file_name(p.name) for p in self.root.iterdir() if p.is_file()):
                # A single server's folder given directly.
                folder = self.root
            else:
                logger.warning("no folder for %s under %s", server, self.root)
                return []
        return local_folders(server, folder)

    def describe(self) -> str:
        return f"folder {self.root}"


# ---------------------------------------------------------------------------------------------
# Admin shares over SMB


def admin_share_path(server_fqdn: str, local_path: str) -> str:
    """The UNC path of a server's local folder through its administrative share.

    ``C:\\Program Files\\Microsoft\\Exchange Server\\V15\\TransportRoles\\Logs\\FrontEnd\\
    ProtocolLog\\SmtpReceive`` on ``ex01.corp.example.com`` becomes
    ``\\\\ex01.corp.example.com\\C$\\Program Files\\...\\SmtpReceive``. The drive letter is
    taken from the path. A path that is already a UNC path is returned as it is.

    Args:
        server_fqdn: the server to reach, preferably its FQDN.
        local_path: the folder as the server's transport service reports it.

    Raises:
        InputError: the path is neither ``X:\\...`` nor a UNC path.
    """
    text = local_path.strip().replace("/", "\\")
    if text.startswith("\\\\"):
        return text.rstrip("\\")
    match = re.fullmatch(r"([A-Za-z]):(\\.*)?", text)
    if match is None or not server_fqdn.strip():
        raise InputError(local_path, "is not a local path with a drive letter",
                         source="ReceiveProtocolLogPath",
                         accepted=r"a path such as D:\Exchange Logs\SmtpReceive")
    drive, rest = match.group(1).upper(), (match.group(2) or "").rstrip("\\")
    return f"\\\\{server_fqdn.strip()}\\{drive}${rest}"


def log_paths(shell: Shell, server: str, roles: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Each role's transport service settings on ``server``, read through the shell.

    Returns:
        ``{role: service record}``, for example ``{"FrontendTransport": {...
        "ReceiveProtocolLogPath": "C:\\...", "ReceiveProtocolLogMaxAge": "30.00:00:00", ...}}``.
    """
    settings: dict[str, dict[str, Any]] = {}
    for role in dict.fromkeys(roles):
        cmdlet = SERVICE_OF_ROLE.get(role)
        if cmdlet is None:
            continue
        try:
            records = shell.invoke(cmdlet, Identity=server)
        except ExchangeError as error:
            # An Edge server has no front-end service, for example; its logs are elsewhere.
            logger.warning("%s %s: %s", cmdlet, server, error)
            continue
        if records:
            settings[role] = records[0]
    return settings


def server_fqdn(shell: Shell, server: str) -> str:
    """The server's FQDN as Get-ExchangeServer reports it (its name when there is none)."""
    records = shell.invoke("Get-ExchangeServer", Identity=server)
    return str(records[0].get("Fqdn") or server) if records else server


class SmbLogSource(LogSource):
    """Each server's logs read over its administrative share.

    Args:
        username: the account; ``CONNECTOR_RUNBOOKS_USERNAME`` when not given, the Kerberos
            ticket cache when neither is set.
        port: the SMB port.
        encrypt: require SMB encryption.
    """

    kind = "smb"

    def __init__(self, username: str | None = None, *, port: int = 445,
                 encrypt: bool = False) -> None:
        self.username = username
        self.port = port
        self.encrypt = encrypt
        self._registered: set[str] = set()

    def _register(self, fqdn: str) -> None:
        if fqdn in self._registered:
            return
        import smbclient

        from ..credentials import credentials_for

        credentials = credentials_for("negotiate", self.username)
        logger.info("opening an SMB session to %s as %s", fqdn, credentials.describe())
        try:
            smbclient.register_session(
                fqdn, username=credentials.username,
                password=credentials.password.reveal() if credentials.password else None,
                port=self.port, encrypt=self.encrypt, auth_protocol="negotiate")
        except Exception as error:  # smbprotocol raises many types; keep only the text
            raise TransportError(f"SMB session to {fqdn} failed: {type(error).__name__}: "
                                 f"{error}") from None
        self._registered.add(fqdn)

    def folders(self, server: str, shell: Shell | None = None,
                roles: Iterable[str] = ("FrontendTransport",)) -> list[LogFolder]:
        if shell is None:
            raise InputError("smb", "needs the shell to read the servers' log paths",
                             source="parameter log_source")
        import smbclient

        fqdn = server_fqdn(shell, server)
        folders = []
        for role, settings in log_paths(shell, server, roles).items():
            path = admin_share_path(fqdn, str(settings.get("ReceiveProtocolLogPath") or ""))
            self._register(fqdn)
            logger.info("%s %s receive logs: %s", server, role, path)
            try:
                entries = list(smbclient.scandir(path))
            except OSError as error:
                logger.warning("cannot list %s: %s", path, error)
                folders.append(LogFolder(server, path))
                continue
            files = [LogFile(e.name, f"{path}\\{e.name}", e.stat().st_size, _smb_reader(
                f"{path}\\{e.name}")) for e in entries if e.is_file()]
            files, unrecognised = ordered(files)
            folders.append(LogFolder(server, path, files, unrecognised))
        return folders

    def describe(self) -> str:
        return "admin shares over SMB"


def _smb_reader(path: str) -> Callable[[], bytes]:
    def read() -> bytes:
        import smbclient

        with smbclient.open_file(path, mode="rb") as handle:
            return handle.read()

    return read


# ---------------------------------------------------------------------------------------------
# The simulated organization


def parse_timespan(text: Any) -> _dt.timedelta | None:
    """``30.00:00:00`` (d.hh:mm:ss[.fffffff]) as a timedelta; None when it is not one."""
    if isinstance(text, _dt.timedelta):
        return text
    match = re.fullmatch(r"\s*(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?\s*", str(text))
    if match is None:
        return None
    days, hours, minutes, seconds, fraction = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    return _dt.timedelta(days=int(days or 0), hours=int(hours), minutes=int(minutes),
                         seconds=int(seconds), microseconds=micro)


class SimulatedLogSource(LogSource):
    """Front-end receive logs of the simulated organization, generated on first use.

    The logs end at ``until`` (the start of the current UTC hour by default) and go back as
    far as the server's ``ReceiveProtocolLogMaxAge`` keeps them, trimmed to its
    ``ReceiveProtocolLogMaxDirectorySize`` like Exchange's circular logging. The same seed,
    organization and ``until`` give the same files.

    Args:
        cache_dir: where the files are written; a folder under the system's temp folder
            by default.
        seed: varies which relay entries are active and when hosts send.
        until: the end of the logs (UTC).
        max_days: the most days generated when the age limit is off.
    """

    kind = "simulated"

    def __init__(self, cache_dir: str | os.PathLike[str] | None = None, *, seed: int = 1,
                 until: _dt.datetime | None = None, max_days: int = 90) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir else Path(
            tempfile.gettempdir()) / "connector-runbooks-simulated-logs"
        self.seed = seed
        now = _dt.datetime.now(_dt.timezone.utc)
        self.until = (until or now).astimezone(_dt.timezone.utc).replace(
            minute=0, second=0, microsecond=0)
        self.max_days = max_days

    def folders(self, server: str, shell: Shell | None = None,
                roles: Iterable[str] = ("FrontendTransport",)) -> list[LogFolder]:
        from ..simulated import protocol_logs as generator

        if shell is None:
            raise InputError("simulated", "needs the shell of the simulated organization",
                             source="parameter log_source")
        if "FrontendTransport" not in set(roles):
            return []
        connectors = shell.invoke("Get-ReceiveConnector", Server=server)
        servers = shell.invoke("Get-ExchangeServer", Identity=server)
        service = log_paths(shell, server, ["FrontendTransport"]).get("FrontendTransport", {})
        max_age = parse_timespan(service.get("ReceiveProtocolLogMaxAge"))
        days = self.max_days if not max_age else min(self.max_days, max_age.days + 1)
        since = self.until - (max_age if max_age else _dt.timedelta(days=days))
        record = servers[0] if servers else {}
        addresses = [str(a) for a in record.get("IPAddresses") or []] or ["10.0.1.10"]
        last = ipaddress.ip_address(addresses[0]).packed[-1]
        # Real Exchange servers usually have an IPv6 address as well; the IPv6 client of the
        # demo needs one on the server's side of the connection.
        addresses.append(f"fd00:1::{last:x}")
        hosts = generator.logged_hosts(generator.demo_hosts(connectors, seed=self.seed),
                                       connectors)
        simulated = generator.SimulatedServer(
            server.upper(), str(record.get("Fqdn") or server.lower()), tuple(addresses),
            hosts=hosts)

        key = hashlib.sha256(json.dumps(
            [self.seed, self.until.isoformat(), since.isoformat(), repr(simulated),
             service.get("ReceiveProtocolLogMaxDirectorySize")], default=str).encode()
        ).hexdigest()[:16]
        folder = (self.cache_dir / key / server.upper() / "TransportRoles" / "Logs" / "FrontEnd"
                  / "ProtocolLog" / "SmtpReceive")
        done = folder / ".complete"
        if not done.exists():
            staging = folder.with_name(folder.name + ".partial")
            shutil.rmtree(staging, ignore_errors=True)
            generator.write_receive_logs(
                staging, simulated, end=self.until.date() + _dt.timedelta(days=1),
                days=days + 1, seed=self.seed, since=since, until=self.until)
            _trim_to_size(staging, service.get("ReceiveProtocolLogMaxDirectorySize"))
            shutil.rmtree(folder, ignore_errors=True)
            staging.rename(folder)
            done.write_text(self.until.isoformat())
            self._forget_old(keep=key)
        return local_folders(server.upper(), folder)

    def _forget_old(self, keep: str) -> None:
        """Delete generated logs older than a day, so the cache does not grow hour by hour."""
        cutoff = _dt.datetime.now().timestamp() - 86400
        for child in self.cache_dir.iterdir():
            if child.is_dir() and child.name != keep and child.stat().st_mtime < cutoff:
                shutil.rmtree(child, ignore_errors=True)

    def describe(self) -> str:
        return (f"simulated organization (seed {self.seed}, logs until "
                f"{self.until:%Y-%m-%d %H:%M} UTC)")


def _trim_to_size(folder: Path, limit: Any) -> None:
    """Delete the oldest files past ReceiveProtocolLogMaxDirectorySize, as Exchange does."""
    if not isinstance(limit, int) or limit <= 0:
        return
    files, _ = ordered(LogFile(p.name, str(p), p.stat().st_size, p.read_bytes)
                       for p in folder.iterdir())
    total = sum(f.size or 0 for f in files)
    for log_file in files:
        if total <= limit:
            break
        Path(log_file.location).unlink()
        total -= log_file.size or 0


# ---------------------------------------------------------------------------------------------


def open_log_source(spec: str | LogSource, **options: Any) -> LogSource:
    """The log source named by a runbook parameter.

    Args:
        spec: ``simulated``, ``smb``, ``folder:<path>`` or a folder path; a LogSource is
            returned as it is.
        options: passed to the source (for example ``seed``, ``until``, ``username``).
    """
    if isinstance(spec, LogSource):
        return spec
    text = str(spec or "").strip()
    if text.lower() == "simulated":
        return SimulatedLogSource(**options)
    if text.lower() == "smb":
        return SmbLogSource(**options)
    if text.lower().startswith("folder:"):
        text = text[len("folder:"):]
    if not text:
        raise InputError(spec, "no log source was named", source="parameter log_source",
                         accepted="'simulated', 'smb' or a folder of copied logs")
    return LocalLogSource(text, **options)
