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
    that server's log folder itself. A folder's service is judged from its path below the
    server's folder only: ``Hub`` in it means the Transport service's log (Hub connectors),
    ``FrontEnd`` or no such name the front-end one.
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
from types import TracebackType
from typing import Any, Self

# Imported here, not only where a session opens: it keeps pyspnego's DEBUG log of whole
# authentication tokens quiet, and the SMB path authenticates through pyspnego too.
from ..credentials import credentials_for
from ..errors import ExchangeError, InputError, TransportError
from ..shell import Shell
from ..values import parse_timespan
from .files import LogFile, LogFolder, local_folders, ordered
from .names import is_log_file_name

logger = logging.getLogger(__name__)

#: The transport service whose settings hold the log folder of each connector role.
SERVICE_OF_ROLE = {"FrontendTransport": "Get-FrontendTransportService",
                   "HubTransport": "Get-TransportService"}


class LogSource(ABC):
    """Finds a server's protocol log folders.

    A source is a context manager: leaving the ``with`` block closes what it opened (the SMB
    sessions). What a source could not read is logged and kept in :attr:`warnings`, for the
    review to put in front of the reader.
    """

    kind = "abstract"

    def __init__(self) -> None:
        self.warnings: list[str] = []

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

    def close(self) -> None:
        """Release what the source holds open; reading its folders' files ends here."""

    def _warn(self, text: str) -> None:
        logger.warning("%s", text)
        if text not in self.warnings:
            self.warnings.append(text)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------
# A local folder


class LocalLogSource(LogSource):
    """Logs copied to a local (or mounted) folder.

    Args:
        root: ``<root>/<SERVER>/...``, or a single server's log folder.
    """

    kind = "folder"

    def __init__(self, root: str | os.PathLike[str]) -> None:
        super().__init__()
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
                self._warn(f"{server}: no folder named {server} under {self.root}")
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


def log_paths(shell: Shell, server: str, roles: Iterable[str],
              warnings: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Each role's transport service settings on ``server``, read through the shell.

    Args:
        shell: where to read them.
        server: the server.
        roles: ``FrontendTransport`` and/or ``HubTransport``.
        warnings: gets a sentence for each service that could not be read.

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
            text = (f"{server}: {cmdlet} failed, so its {role} log folder and limits are "
                    f"unknown: {error.message}")
            logger.warning("%s", text)
            if warnings is not None and text not in warnings:
                warnings.append(text)
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

    Use it in a ``with`` block (the review does): closing it ends the SMB sessions it opened.
    smbclient keeps one connection per server and port in the process, so closing also ends
    that server's connection for any other user of smbclient in this process.

    Args:
        username: the account; ``CONNECTOR_RUNBOOKS_USERNAME`` when not given, the Kerberos
            ticket cache when neither is set.
        port: the SMB port.
        encrypt: require SMB encryption.
    """

    kind = "smb"

    def __init__(self, username: str | None = None, *, port: int = 445,
                 encrypt: bool = False) -> None:
        super().__init__()
        self.username = username
        self.port = port
        self.encrypt = encrypt
        self._registered: set[str] = set()

    def _register(self, fqdn: str) -> None:
        if fqdn in self._registered:
            return
        import smbclient

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
        for role, settings in log_paths(shell, server, roles, self.warnings).items():
            path = admin_share_path(fqdn, str(settings.get("ReceiveProtocolLogPath") or ""))
            self._register(fqdn)
            logger.info("%s %s receive logs: %s", server, role, path)
            try:
                entries = list(smbclient.scandir(path))
            except OSError as error:
                self._warn(f"{server}: cannot list the {role} log folder {path}: {error}")
                folders.append(LogFolder(server, path, role=role))
                continue
            files = [LogFile(e.name, f"{path}\\{e.name}", e.stat().st_size, _smb_reader(
                f"{path}\\{e.name}")) for e in entries if e.is_file()]
            files, unrecognised = ordered(files)
            folders.append(LogFolder(server, path, files, unrecognised, role=role))
        return folders

    def describe(self) -> str:
        return "admin shares over SMB"

    def close(self) -> None:
        """End the SMB sessions this source opened."""
        if not self._registered:
            return
        import smbclient

        for fqdn in sorted(self._registered):
            try:
                smbclient.delete_session(fqdn, port=self.port)
            except Exception as error:  # a session already gone is no reason to fail a review
                logger.debug("closing the SMB session to %s: %s: %s", fqdn,
                             type(error).__name__, error)
            else:
                logger.info("closed the SMB session to %s", fqdn)
        self._registered.clear()


def _smb_reader(path: str) -> Callable[[], bytes]:
    def read() -> bytes:
        import smbclient

        with smbclient.open_file(path, mode="rb") as handle:
            return handle.read()

    return read


# ---------------------------------------------------------------------------------------------
# The simulated organization


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
        super().__init__()
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
        service = log_paths(shell, server, ["FrontendTransport"], self.warnings).get(
            "FrontendTransport", {})
        try:
            max_age = parse_timespan(service.get("ReceiveProtocolLogMaxAge"))
        except ValueError as error:
            self._warn(f"{server}: ReceiveProtocolLogMaxAge cannot be read ({error}); "
                       f"{self.max_days} days of logs are generated")
            max_age = None
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
        if not (folder / COMPLETE).exists():
            staging = _staging_folder(folder)
            try:
                generator.write_receive_logs(
                    staging, simulated, end=self.until.date() + _dt.timedelta(days=1),
                    days=days + 1, seed=self.seed, since=since, until=self.until)
                _trim_to_size(staging, service.get("ReceiveProtocolLogMaxDirectorySize"))
                (staging / COMPLETE).write_text(self.until.isoformat())
                _publish(staging, folder)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
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


#: The marker of a finished cache folder; it is written before the folder is published.
COMPLETE = ".complete"


def _staging_folder(folder: Path) -> Path:
    """A new folder beside ``folder``, for this process alone to generate into."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{folder.name}.", suffix=".partial", dir=folder.parent))


def _publish(staging: Path, folder: Path) -> None:
    """Rename the finished ``staging`` to ``folder``, unless another process got there first.

    Runs in two processes (a notebook and a scheduled run) can generate the same logs at the
    same time. The first rename wins; the other process uses the winner's files, which are the
    same bytes, and never deletes a folder that someone may be reading. Windows refuses to
    rename onto an existing folder and POSIX onto a non-empty one; both end up here.
    """
    try:
        staging.rename(folder)
        return
    except OSError:
        if (folder / COMPLETE).exists():
            logger.debug("%s was generated by another run; using it", folder)
            return
        if not folder.exists():
            raise
    # A folder without the marker is left from a run that stopped half-way (older versions
    # wrote the marker after publishing): nobody reads it, so replace it.
    logger.info("replacing the unfinished log cache %s", folder)
    shutil.rmtree(folder, ignore_errors=True)
    try:
        staging.rename(folder)
    except OSError:
        if not (folder / COMPLETE).exists():
            raise


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
