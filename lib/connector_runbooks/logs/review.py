"""The lingering-hosts review: which hosts still use a server's Receive connectors.

The protocol log facts are joined with the connectors' configuration, read through the shell:

- a connector whose ProtocolLoggingLevel is ``None`` has **no data**: the logs cannot say
  whether anything uses it, and the review says so instead of "no traffic" (pitfall 8);
- every RemoteIPRanges entry of a logging connector is **active** (with its hosts and when they
  were last seen) or **silent** in the period; silent entries are candidates for removal, in
  the form the relay IP ranges runbook takes as its ``remove`` input;
- when the logs cover less time than asked, a warning names the service settings that keep
  more (ReceiveProtocolLogMaxAge, ReceiveProtocolLogMaxDirectorySize), and silent entries are
  flagged as not proven unused (pitfall 17);
- a host whose address is an Exchange server's is marked with the server's name: in the Hub
  log that is the proxied hop of a message, not a client.

Nothing here changes the organization; it only reads.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import ipaddress
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..connectors import exchange_servers, receive_connectors, split_identity
from ..errors import ExchangeError, InputError, InputErrors
from ..models import ReceiveConnector
from ..ranges import IPRangeEntry, RangeIndex, from_exchange
from ..shell import Shell
from .endpoints import normalize_address
from .facts import FactsBuilder, LogFacts, iso_utc, plain_records
from .sources import LogSource, log_paths, open_log_source

logger = logging.getLogger(__name__)

NO_DATA_LOGGING_OFF = "no data: protocol logging is off"
NO_DATA_NO_FILES = "no data: no protocol log files found"
IN_USE = "in use"
NO_TRAFFIC = "no traffic in the period covered"

ENTRY_ACTIVE = "active"
ENTRY_SILENT = "silent"
ENTRY_UNKNOWN = "unknown: protocol logging is off"

CONNECTOR_COLUMNS = ["connector", "server", "transport_role", "protocol_logging_level", "status",
                     "entries", "active_entries", "silent_entries", "hosts", "sessions",
                     "recipients_refused", "last_seen"]
ENTRY_COLUMNS = ["connector", "entry", "state", "hosts", "sessions", "last_seen"]


@dataclass
class ServiceLogSettings:
    """One transport service's receive log settings on one server.

    Args:
        server: the server.
        role: ``FrontendTransport`` or ``HubTransport``.
        path: ReceiveProtocolLogPath.
        max_age: ReceiveProtocolLogMaxAge as Exchange shows it, for example ``30.00:00:00``.
        max_directory_size: ReceiveProtocolLogMaxDirectorySize in bytes (None: unlimited).
    """

    server: str
    role: str
    path: str | None
    max_age: str | None
    max_directory_size: int | None

    @property
    def cmdlet(self) -> str:
        return ("Set-FrontendTransportService" if self.role == "FrontendTransport"
                else "Set-TransportService")


@dataclass
class LingeringHostsReview:
    """The result of one review, as tables and as plain values for the change record.

    Args:
        servers: the servers reviewed.
        start: the start of the period asked about (UTC).
        end: the end of the period.
        connectors: one row per connector reviewed: logging level, status, entry counts.
        entries: one row per RemoteIPRanges entry of the logging connectors: active or silent.
        hosts: one row per (connector, remote address) seen in the logs, with its facts.
        daily: sessions per day per host.
        coverage: one row per log folder read: files, bytes, time covered, malformed lines.
        malformed: the malformed lines, each with file and line number.
        warnings: what the reader must know before acting on the results.
        removal_candidates: per connector identity, the silent entries as display strings.
        log_source: how the logs were found.
    """

    servers: list[str]
    start: _dt.datetime
    end: _dt.datetime
    connectors: pd.DataFrame
    entries: pd.DataFrame
    hosts: pd.DataFrame
    daily: pd.DataFrame
    coverage: pd.DataFrame
    malformed: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    removal_candidates: dict[str, list[str]] = field(default_factory=dict)
    covers_period: dict[str, bool] = field(default_factory=dict)
    log_source: str = ""

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400

    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON-serialisable values, for the change record."""
        return {
            "servers": list(self.servers),
            "period": {"start": iso_utc(self.start), "end": iso_utc(self.end),
                       "days": round(self.days, 3)},
            "log_source": self.log_source,
            "connectors": plain_records(self.connectors),
            "entries": plain_records(self.entries),
            "hosts": plain_records(self.hosts),
            "daily": plain_records(self.daily),
            "coverage": plain_records(self.coverage),
            "malformed": plain_records(self.malformed),
            "warnings": list(self.warnings),
            "removal_candidates": {k: list(v) for k, v in self.removal_candidates.items()},
            "logs_cover_period": dict(self.covers_period),
        }

    def export_csv(self, folder: str | Path, prefix: str = "lingering-hosts") -> list[Path]:
        """Write each table as a CSV file (lists joined with ``; ``); returns the paths."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for name in ("connectors", "entries", "hosts", "daily", "coverage", "malformed"):
            frame = getattr(self, name).copy()
            for column in frame.columns:
                if frame[column].map(lambda v: isinstance(v, (list, tuple, set))).any():
                    frame[column] = frame[column].map(
                        lambda v: "; ".join(map(str, v)) if isinstance(v, (list, tuple, set))
                        else v)
            path = folder / f"{prefix}-{name}.csv"
            frame.to_csv(path, index=False)
            written.append(path)
        logger.info("wrote %d CSV file(s) to %s", len(written), folder)
        return written


# ---------------------------------------------------------------------------------------------


def _validate(servers: Any, days: Any, connectors: Any) -> tuple[list[str], float, list[str]]:
    problems: list[InputError] = []
    if isinstance(servers, str):
        servers = [part.strip() for part in servers.split(",")]
    # Exchange server names are not case-sensitive: ex01 and EX01 are one server, read once.
    unique: dict[str, str] = {}
    for name in (str(s).strip() for s in (servers or [])):
        if name:
            unique.setdefault(name.lower(), name)
    server_list = list(unique.values())
    if not server_list:
        problems.append(InputError(servers, "no server was named", source="parameter servers",
                                   accepted="a list of server names, for example [EX01]"))
    try:
        period = float(days)
        if not 0 < period <= 3650:
            raise ValueError
    except (TypeError, ValueError):
        problems.append(InputError(days, "is not a number of days", source="parameter days",
                                   accepted="a number of days from 0 to 3650, for example 30"))
        period = 0.0
    if isinstance(connectors, str):
        connectors = [connectors]
    connector_list = [str(c).strip() for c in (connectors or []) if str(c).strip()]
    if problems:
        raise InputErrors(problems)
    return server_list, period, connector_list


def _period_end(value: _dt.datetime | str | None) -> _dt.datetime:
    """The end of the period: now, a datetime, or ISO 8601 text (UTC when no zone is given)."""
    if value is None or value == "":
        return _dt.datetime.now(_dt.timezone.utc)
    if isinstance(value, str):
        try:
            value = _dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise InputError(value, "is not a date and time", source="parameter end",
                             accepted="ISO 8601, for example 2024-06-10T12:00Z") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.timezone.utc)
    return value.astimezone(_dt.timezone.utc)


def _selected(all_connectors: list[ReceiveConnector], wanted: list[str], servers: list[str]
              ) -> list[ReceiveConnector]:
    if not wanted:
        return all_connectors
    chosen: list[ReceiveConnector] = []
    problems: list[InputError] = []
    for text in wanted:
        server, name = split_identity(text, source="parameter connectors")
        matches = [c for c in all_connectors if c.name.lower() == name.lower()
                   and (not server or c.server.lower() == server.lower())]
        if not matches:
            known = ", ".join(c.identity for c in all_connectors) or "none"
            problems.append(InputError(text, f"no Receive connector of that name on "
                                             f"{server or ', '.join(servers)}",
                                       source="parameter connectors",
                                       accepted=f"one of: {known}"))
        chosen += [c for c in matches if c not in chosen]
    if problems:
        raise InputErrors(problems)
    return chosen


def _same_server(a: str, b: str) -> bool:
    """Exchange server names are not case-sensitive: ``ex01`` is ``EX01``."""
    return a.strip().lower() == b.strip().lower()


def _warn(warnings: list[str], text: str) -> None:
    """Log a warning and keep it for the reader of the review, once."""
    logger.warning("%s", text)
    if text not in warnings:
        warnings.append(text)


def _settings(shell: Shell, server: str, roles: Iterable[str],
              warnings: list[str]) -> list[ServiceLogSettings]:
    found = []
    for role, record in log_paths(shell, server, roles, warnings).items():
        size = record.get("ReceiveProtocolLogMaxDirectorySize")
        found.append(ServiceLogSettings(
            server, role, record.get("ReceiveProtocolLogPath"),
            str(record.get("ReceiveProtocolLogMaxAge")) if record.get(
                "ReceiveProtocolLogMaxAge") is not None else None,
            size if isinstance(size, int) else None))
    return found


def _exchange_addresses(shell: Shell, warnings: list[str]) -> dict[str, str]:
    """Each Exchange server's addresses, mapped to its name."""
    try:
        servers = exchange_servers(shell)
    except ExchangeError as error:
        _warn(warnings, f"The Exchange servers cannot be listed ({error.message}), so hosts "
                        f"that are Exchange servers (proxied hops) are not marked as such.")
        return {}
    found = {}
    for server in servers:
        for address in server.addresses:
            canonical = normalize_address(str(address))
            if canonical:
                found[canonical] = server.name
    return found


def _role_of_folder(folder: str) -> str:
    parts = folder.replace("\\", "/").lower().split("/")
    return "HubTransport" if "hub" in parts else "FrontendTransport"


def _roles_on(server: str, chosen: list[ReceiveConnector]) -> list[str]:
    """The connector roles reviewed on ``server``, whose log folders are read."""
    return sorted({c.transport_role or "FrontendTransport" for c in chosen
                   if _same_server(c.server, server)}) or ["FrontendTransport"]


def _size_text(size: int | None) -> str:
    if size is None:
        return "unlimited"
    return f"{size:,} bytes ({size / 1024 / 1024:,.0f} MB)"


def _tolerance(start: _dt.datetime, end: _dt.datetime) -> _dt.timedelta:
    # Quiet hours at the very start are normal; a day (or a tenth of a short period) is not.
    return min(_dt.timedelta(days=1), (end - start) / 10)


def _coverage_table(facts: LogFacts, start: _dt.datetime, end: _dt.datetime) -> pd.DataFrame:
    """The facts' coverage with, per log folder, where its lines begin within the period
    (``covered_from``) and whether they span the period (``covers_period``)."""
    tolerance = _tolerance(start, end)
    coverage = facts.coverage.copy()
    covered_from = []
    for row in coverage.itertuples():
        if row.files_before_window:
            covered_from.append(start)
        else:
            candidates = [t for t in (row.first_line, row.oldest_file)
                          if t is not None and not pd.isna(t)]
            covered_from.append(max(start, min(candidates)) if candidates else None)
    coverage["covered_from"] = covered_from
    reaches_end = [row.files_after_window > 0 or (row.last_line is not None
                                                  and not pd.isna(row.last_line)
                                                  and end - row.last_line <= tolerance)
                   for row in coverage.itertuples()]
    coverage["covers_period"] = [value is not None and value - start <= tolerance and last
                                 for value, last in zip(covered_from, reaches_end)]
    return coverage


def _gap_warning(server: str, row: Any, service: ServiceLogSettings | None,
                 start: _dt.datetime, end: _dt.datetime) -> str:
    """Why one log folder of ``server`` does not cover the period, and what keeps more."""
    asked = (end - start).total_seconds() / 86400
    if row.covered_from is None:
        text = (f"{server}: the log folder {row.folder} has no lines in the "
                f"{asked:g} day(s) asked")
    elif row.covered_from - start <= _tolerance(start, end):
        # The start is covered, so the logs stop early: an old copy, or a server that stopped
        # logging. Longer retention would not help.
        return (f"{server}: the logs in {row.folder} end at "
                f"{row.last_line:%Y-%m-%d %H:%M} UTC, before the end of the period "
                f"({end:%Y-%m-%d %H:%M} UTC); hosts seen only since then are missing. "
                f"Copy the logs again, or review up to the time they were copied.")
    else:
        shown = row.covered_from.strftime("%Y-%m-%d %H:%M")
        days = (end - row.covered_from).total_seconds() / 86400
        text = (f"{server}: the logs in {row.folder} begin at {shown} UTC, so they "
                f"cover {days:.1f} of the {asked:g} day(s) asked")
    if service is not None:
        text += (f"; {service.cmdlet} {server} keeps them for ReceiveProtocolLogMaxAge "
                 f"{service.max_age or '?'} and up to ReceiveProtocolLogMaxDirectorySize "
                 f"{_size_text(service.max_directory_size)}: raise these to keep more")
    else:
        text += ("; ReceiveProtocolLogMaxAge and ReceiveProtocolLogMaxDirectorySize of "
                 "the server's transport service decide how much is kept")
    return text + ". Hosts that send less often than that (monthly jobs) may be missing."


def _coverage_warnings(coverage: pd.DataFrame, settings: list[ServiceLogSettings],
                       start: _dt.datetime, end: _dt.datetime, servers: list[str]
                       ) -> tuple[list[str], dict[str, bool]]:
    """Per server: do the logs reach back to the start of the period, and if not, why?

    Returns:
        The warnings, and per server (as named in ``servers``) whether its logs cover the
        period.
    """
    warnings: list[str] = []
    covers: dict[str, bool] = {}
    for server in servers:
        rows = coverage[coverage["server"].str.lower() == server.lower()]
        if rows.empty:
            covers[server] = False
            warnings.append(f"{server}: no protocol log files were found, so nothing is known "
                            f"about its connectors' traffic")
            continue
        covers[server] = bool(rows["covers_period"].all())
        for row in rows.itertuples():
            if row.covers_period:
                continue
            role = _role_of_folder(row.folder)
            service = next((s for s in settings if _same_server(s.server, server)
                            and s.role == role), None)
            warnings.append(_gap_warning(server, row, service, start, end))
    return warnings, covers


def _entry_rows(connector: ReceiveConnector, hosts: pd.DataFrame, warnings: list[str]
                ) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """Each RemoteIPRanges entry with the hosts inside it; each host's entries.

    A connector can have 1,200 entries and a busy server thousands of hosts, so the hosts are
    looked up in an index of the entries rather than tried against each one.
    """
    parsed: list[tuple[str, IPRangeEntry]] = []
    for text in connector.remote_ip_ranges:
        try:
            parsed.append((text, from_exchange(text)))
        except InputError as error:
            _warn(warnings, f"{connector.identity}: the RemoteIPRanges entry {text!r} cannot "
                            f"be read ({error}), so it is left out of the review.")
    index = RangeIndex(entry for _, entry in parsed)
    texts_of: dict[IPRangeEntry, list[str]] = {}
    for text, entry in parsed:
        texts_of.setdefault(entry, []).append(text)

    entries_of_host: dict[str, list[str]] = {}
    hosts_of_entry: dict[str, list[tuple[str, int, Any]]] = {text: [] for text, _ in parsed}
    for address, sessions, last_seen in zip(hosts["remote_address"], hosts["sessions"],
                                            hosts["last_seen"]):
        point = ipaddress.ip_address(address)
        inside = index.overlapping(IPRangeEntry.from_bounds(point, point))
        entries_of_host[address] = [t for entry in inside for t in texts_of[entry]]
        for text in entries_of_host[address]:
            hosts_of_entry[text].append((address, int(sessions), last_seen))

    rows = []
    for text, _ in parsed:
        inside = hosts_of_entry[text]
        rows.append({
            "connector": connector.identity,
            "entry": text,
            "state": ENTRY_ACTIVE if inside else ENTRY_SILENT,
            "hosts": [address for address, _, _ in inside],
            "sessions": sum(count for _, count, _ in inside),
            "last_seen": max((seen for _, _, seen in inside), default=None),
        })
    return rows, entries_of_host


@dataclass
class _Configuration:
    """What the review reads from Exchange: the connectors, their log settings, the servers.

    Args:
        chosen: the connectors reviewed.
        settings: the transport services' receive log settings.
        servers_by_address: each Exchange server's addresses, mapped to its name.
    """

    chosen: list[ReceiveConnector]
    settings: list[ServiceLogSettings]
    servers_by_address: dict[str, str]


@dataclass
class _Joined:
    """The connectors' configuration joined with the log facts: the review's tables."""

    connector_rows: list[dict[str, Any]] = field(default_factory=list)
    entry_rows: list[dict[str, Any]] = field(default_factory=list)
    removal: dict[str, list[str]] = field(default_factory=dict)
    logging_off: list[str] = field(default_factory=list)


def _read_configuration(shell: Shell, servers: list[str], wanted: list[str],
                        warnings: list[str]) -> _Configuration:
    """Read the connectors to review, their servers' log settings and the server addresses."""
    all_connectors = [c for server in servers for c in receive_connectors(shell, server)]
    chosen = _selected(all_connectors, wanted, servers)
    settings = [setting for server in servers
                for setting in _settings(shell, server, _roles_on(server, chosen), warnings)]
    return _Configuration(chosen, settings, _exchange_addresses(shell, warnings))


def _read_facts(source: LogSource, shell: Shell, servers: list[str],
                chosen: list[ReceiveConnector], start: _dt.datetime, end: _dt.datetime,
                workers: int | None) -> LogFacts:
    """Read the log folders of each server's reviewed roles over the period."""
    builder = FactsBuilder(start, end, workers=workers)
    for server in servers:
        for folder in source.folders(server, shell, _roles_on(server, chosen)):
            builder.add_folder(folder)
    return builder.facts()


def _unknown_rows(connector: ReceiveConnector) -> list[dict[str, Any]]:
    return [{"connector": connector.identity, "entry": text, "state": ENTRY_UNKNOWN,
             "hosts": [], "sessions": 0, "last_seen": None}
            for text in connector.remote_ip_ranges]


def _join(chosen: list[ReceiveConnector], hosts: pd.DataFrame, coverage: pd.DataFrame,
          covers: dict[str, bool], warnings: list[str]) -> _Joined:
    """Each connector's status and entries from its hosts; fills ``hosts["in_entries"]``.

    Args:
        covers: per server (any letter case), whether its logs cover the period.
        warnings: gets a warning for each connector whose silent entries are not proven unused.
    """
    joined = _Joined()
    covers_by_key = {server.lower(): value for server, value in covers.items()}
    for connector in chosen:
        mine = hosts[hosts["connector"].str.lower() == connector.identity.lower()]
        role = connector.transport_role or "FrontendTransport"
        folders = coverage[coverage["server"].str.lower() == connector.server.lower()]
        has_files = any(_role_of_folder(f) == role and files > 0
                        for f, files in zip(folders["folder"], folders["files"]))
        if connector.protocol_logging_level.lower() == "none":
            status, rows = NO_DATA_LOGGING_OFF, _unknown_rows(connector)
            joined.logging_off.append(connector.identity)
        elif not has_files:
            status, rows = NO_DATA_NO_FILES, _unknown_rows(connector)
        else:
            status = IN_USE if len(mine) else NO_TRAFFIC
            rows, entries_of_host = _entry_rows(connector, mine, warnings)
            for index in mine.index:
                hosts.at[index, "in_entries"] = entries_of_host.get(
                    hosts.at[index, "remote_address"], [])
            silent = [row["entry"] for row in rows if row["state"] == ENTRY_SILENT]
            joined.removal[connector.identity] = silent
            if silent and not covers_by_key.get(connector.server.lower(), False):
                warnings.append(
                    f"{connector.identity}: {len(silent)} silent entr"
                    f"{'y is' if len(silent) == 1 else 'ies are'} not proven unused, because "
                    f"the logs of {connector.server} cover less than the period asked.")
        joined.entry_rows += rows
        joined.connector_rows.append({
            "connector": connector.identity, "server": connector.server,
            "transport_role": connector.transport_role,
            "protocol_logging_level": connector.protocol_logging_level, "status": status,
            "entries": len(connector.remote_ip_ranges),
            "active_entries": sum(r["state"] == ENTRY_ACTIVE for r in rows),
            "silent_entries": sum(r["state"] == ENTRY_SILENT for r in rows),
            "hosts": len(mine), "sessions": int(mine["sessions"].sum()),
            "recipients_refused": int(mine["recipients_refused"].sum()),
            "last_seen": mine["last_seen"].max() if len(mine) else None,
        })
    return joined


def _closing_warnings(logging_off: list[str], facts: LogFacts, coverage: pd.DataFrame,
                      period: float) -> list[str]:
    """What the reader must know about connectors without logging and malformed lines."""
    warnings = []
    if logging_off:
        names = ", ".join(logging_off)
        one = len(logging_off) == 1
        warnings.append(
            f"No data for {names}: ProtocolLoggingLevel is None, so the logs cannot show who "
            f"uses {'it' if one else 'them'}. To find out, run Set-ReceiveConnector "
            f"'{logging_off[0] if one else '<identity>'}' -ProtocolLoggingLevel Verbose and "
            f"review again after {period:g} day(s).")
    if facts.malformed.shape[0] or coverage["malformed_lines"].sum():
        warnings.append(f"{int(coverage['malformed_lines'].sum())} malformed log line(s) were "
                        f"left out; see the malformed table for file and line.")
    return warnings


def review_lingering_hosts(
    shell: Shell,
    servers: Sequence[str] | str,
    *,
    connectors: Sequence[str] | str | None = None,
    days: float = 30,
    log_source: LogSource | str = "simulated",
    end: _dt.datetime | str | None = None,
    workers: int | None = None,
    source_options: dict[str, Any] | None = None,
) -> LingeringHostsReview:
    """Review which hosts still use the Receive connectors of ``servers``.

    Args:
        shell: reads the connectors and the transport services' log settings.
        servers: the servers whose connectors are reviewed, for example ``["EX01"]`` (any
            letter case, as Exchange takes them).
        connectors: the connectors to review, as ``SERVER\\Name`` or a name; all Receive
            connectors of the servers when empty.
        days: how many days back from ``end`` to look.
        log_source: ``simulated``, ``smb``, a folder of copied logs, or a LogSource. A source
            named here is closed when the review is done; a LogSource passed in is left open
            for its owner to close.
        end: the end of the period (a datetime, or ISO 8601 text; UTC when no zone is
            given); now by default. Set it to when copied logs were taken.
        workers: threads reading the logs.
        source_options: passed to the log source (for example ``seed`` or ``username``).

    Raises:
        InputErrors: a parameter is wrong; nothing was read.
    """
    server_list, period, wanted = _validate(servers, days, connectors)
    end = _period_end(end)
    start = end - _dt.timedelta(days=period)
    source = open_log_source(log_source, **(source_options or {}))
    owned = source if source is not log_source else contextlib.nullcontext(source)
    logger.info("reviewing %s over %g day(s) with logs from %s", ", ".join(server_list), period,
                source.describe())

    warnings: list[str] = []
    with owned:
        config = _read_configuration(shell, server_list, wanted, warnings)
        already = len(source.warnings)
        facts = _read_facts(source, shell, server_list, config.chosen, start, end, workers)
        for text in source.warnings[already:]:
            if text not in warnings:
                warnings.append(text)

    coverage = _coverage_table(facts, start, end)
    gaps, covers = _coverage_warnings(coverage, config.settings, start, end, server_list)
    warnings += gaps

    reviewed = {c.identity.lower() for c in config.chosen}
    hosts = facts.hosts[facts.hosts["connector"].str.lower().isin(reviewed)].copy()
    daily = facts.daily[facts.daily["connector"].str.lower().isin(reviewed)].copy()
    hosts["in_entries"] = [[] for _ in range(len(hosts))]
    # Sessions from an Exchange server (the Hub's port 2525 hop of a proxied message) are not
    # clients; mark them so nobody chases a "device" that is a server.
    hosts["exchange_server"] = [config.servers_by_address.get(a, "")
                                for a in hosts["remote_address"]]
    joined = _join(config.chosen, hosts, coverage, covers, warnings)
    warnings += _closing_warnings(joined.logging_off, facts, coverage, period)

    return LingeringHostsReview(
        servers=server_list, start=start, end=end,
        connectors=pd.DataFrame(joined.connector_rows, columns=CONNECTOR_COLUMNS),
        entries=pd.DataFrame(joined.entry_rows, columns=ENTRY_COLUMNS),
        hosts=hosts.reset_index(drop=True), daily=daily.reset_index(drop=True),
        coverage=coverage, malformed=facts.malformed, warnings=warnings,
        removal_candidates=joined.removal, covers_period=covers, log_source=source.describe(),
    )
