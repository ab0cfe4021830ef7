"""The lingering-hosts review: which hosts still use a server's Receive connectors.

The protocol log facts are joined with the connectors' configuration, read through the shell:

- a connector whose ProtocolLoggingLevel is ``None`` has **no data**: the logs cannot say
  whether anything uses it, and the review says so instead of "no traffic" (pitfall 8). So
  has a connector whose server's logs were not found, hold only send logs, or do not
  overlap the period;
- a RemoteIPRanges entry is **active** when a host inside it was seen, and **silent** (a
  candidate for removal, in the form the relay IP ranges runbook takes as its ``remove``
  input) only when the connector logs and its server's logs cover the whole period. When
  they cover part of it, an entry not seen is *unknown*, and the warning names the service
  settings that keep more (ReceiveProtocolLogMaxAge, ReceiveProtocolLogMaxDirectorySize;
  pitfall 17);
- entries of the connectors Exchange setup creates (``Default Frontend <SERVER>`` and its
  siblings) and entries that cover every address are never offered for removal: they are
  the server's own mail flow, not a device's;
- a connector on which hosts were seen is *in use*, whatever else is true of it: the status
  never contradicts the counts;
- ProtocolLoggingLevel is read as it is now. The logs do not say when it was turned on, so a
  connector whose logging began during the period, or gaps inside the logs (a service that
  was stopped for a week), are not seen: the review judges coverage from where the logs of
  the connector's service begin and end;
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
from ..errors import ExchangeError, InputError, InputErrors, RunbookError
from ..models import ExchangeServer, ReceiveConnector
from ..ranges import IPRangeEntry, RangeIndex, from_exchange
from ..shell import Shell
from .endpoints import normalize_address
from .facts import FactsBuilder, LogFacts, iso_utc, plain_records
from .sources import LogSource, log_paths, open_log_source

logger = logging.getLogger(__name__)

NO_DATA_LOGGING_OFF = "no data: protocol logging is off"
NO_DATA_NO_FILES = "no data: no protocol log files found"
NO_DATA_ONLY_SEND = "no data: only send logs found"
NO_DATA_NO_OVERLAP = "no data: the logs do not overlap the period"
IN_USE = "in use"
NO_TRAFFIC = "no traffic in the period"
NO_TRAFFIC_IN_PART = "no traffic in the part of the period the logs cover"

ENTRY_ACTIVE = "active"
ENTRY_SILENT = "silent"
ENTRY_KEPT = "silent, kept"
ENTRY_UNKNOWN = "unknown: protocol logging is off"
ENTRY_NOT_SEEN_IN_PART = "unknown: not seen in the part of the period the logs cover"

#: How much of the period a server's logs cover, per log folder and per connector.
COVERS_ALL = "whole period"
COVERS_PART = "part of the period"
COVERS_NONE = "none"

CONNECTOR_COLUMNS = ["connector", "server", "transport_role", "protocol_logging_level", "status",
                     "covered_from", "covered_until", "entries", "active_entries",
                     "silent_entries", "kept_entries", "unknown_entries", "hosts", "sessions",
                     "recipients_refused", "last_seen"]
ENTRY_COLUMNS = ["connector", "entry", "state", "hosts", "sessions", "last_seen", "note"]


class NoLogData(RunbookError):
    """Not one log line of the period could be read: the review knows nothing.

    Args:
        review: the review, with the warnings that say why.
    """

    def __init__(self, review: LingeringHostsReview) -> None:
        self.review = review
        text = (f"No protocol log line of the period ({review.start:%Y-%m-%d %H:%M} to "
                f"{review.end:%Y-%m-%d %H:%M} UTC) could be read for "
                f"{', '.join(review.servers)}, so the review cannot tell who uses the "
                f"connectors.")
        if review.warnings:
            text += f" First warning: {review.warnings[0]}"
            if len(review.warnings) > 1:
                text += f" ({len(review.warnings) - 1} more in the review's warnings.)"
        super().__init__(text)


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
        connectors: one row per connector reviewed: logging level, status, the part of the
            period its server's logs cover, entry counts.
        entries: one row per RemoteIPRanges entry: active, silent, silent but kept, or
            unknown (with why in ``note``).
        hosts: one row per (connector, remote address) seen in the logs, with its facts.
        daily: sessions per day per host.
        coverage: one row per log folder read: files, bytes, the part of the period covered,
            malformed and duplicate lines.
        malformed: the malformed lines, each with file and line number.
        warnings: what the reader must know before acting on the results.
        removal_candidates: per connector identity, the silent entries offered for removal;
            connectors without any are left out.
        covers_period: per server, whether its logs cover the whole period.
        log_source: how the logs were found.
        other_folders: log folders found but not read, because they hold only send logs.
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
    other_folders: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / 86400

    @property
    def lines_read(self) -> int:
        """How many log lines of the period were read, in all folders."""
        return int(self.coverage["rows"].sum()) if len(self.coverage) else 0

    def raise_if_nothing_read(self) -> None:
        """Fail when not one log line of the period was read (an empty folder, a server
        without logs, logs of another time), so that a scheduled run does not pass quietly.
        A review that read lines stays a success, with warnings for what it could not see.

        Raises:
            NoLogData: no line of the period was read.
        """
        if self.lines_read == 0:
            raise NoLogData(self)

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
            "lines_read": self.lines_read,
            "other_folders": plain_records(self.other_folders),
        }

    def export_csv(self, folder: str | Path, prefix: str = "lingering-hosts") -> list[Path]:
        """Write each table as a CSV file (lists joined with ``; ``); returns the paths."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for name in ("connectors", "entries", "hosts", "daily", "coverage", "malformed"):
            frame = getattr(self, name).copy()
            for column in frame.columns:
                # Python's any: pandas' refuses an empty column of times.
                if any(isinstance(v, (list, tuple, set)) for v in frame[column]):
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
    accepted_days = "a number of days greater than 0 and at most 3650, for example 30 or 0.5"
    try:
        period = float(days)
    except (TypeError, ValueError):
        problems.append(InputError(days, "is not a number of days", source="parameter days",
                                   accepted=accepted_days))
        period = 0.0
    else:
        if not 0 < period <= 3650:
            problems.append(InputError(days, "is not more than 0 and at most 3650 days",
                                       source="parameter days", accepted=accepted_days))
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
    known = ", ".join(c.identity for c in all_connectors) or "none"
    for text in wanted:
        server, name = split_identity(text, source="parameter connectors")
        if server and not any(_same_server(server, s) for s in servers):
            problems.append(InputError(
                text, f"{server} is not among the servers reviewed ({', '.join(servers)})",
                source="parameter connectors",
                accepted=f"a connector of {', '.join(servers)} (one of: {known}), or add "
                         f"{server} to servers"))
            continue
        matches = [c for c in all_connectors if c.name.lower() == name.lower()
                   and (not server or _same_server(c.server, server))]
        if not matches:
            problems.append(InputError(text, f"no Receive connector of that name on "
                                             f"{server or ', '.join(servers)}",
                                       source="parameter connectors",
                                       accepted=f"one of: {known}"))
        chosen += [c for c in matches if c not in chosen]
    if problems:
        raise InputErrors(problems)
    return chosen


def _check_servers(servers: list[str], known: list[ExchangeServer] | None) -> None:
    """Refuse server names the organization does not have, naming the ones it has.

    Args:
        known: the organization's servers; None when they could not be listed (the
            connector reads then say what is wrong).
    """
    if not known:
        return
    names = {server.name.lower() for server in known}
    unknown = [server for server in servers if server.lower() not in names]
    if unknown:
        listed = ", ".join(sorted(server.name for server in known))
        raise InputErrors([InputError(server, "is not an Exchange server of this organization",
                                      source="parameter servers", accepted=f"one of: {listed}")
                           for server in unknown])


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


def _organization_servers(shell: Shell, warnings: list[str]) -> list[ExchangeServer] | None:
    """The organization's Exchange servers, or None (with a warning) when they cannot be
    listed."""
    try:
        return exchange_servers(shell)
    except ExchangeError as error:
        _warn(warnings, f"The Exchange servers cannot be listed ({error.message}), so hosts "
                        f"that are Exchange servers (proxied hops) are not marked as such.")
        return None


def _addresses_of(servers: list[ExchangeServer] | None) -> dict[str, str]:
    """Each Exchange server's addresses, mapped to its name."""
    found = {}
    for server in servers or []:
        for address in server.addresses:
            canonical = normalize_address(str(address))
            if canonical:
                found[canonical] = server.name
    return found


def _roles_on(server: str, chosen: list[ReceiveConnector]) -> list[str]:
    """The connector roles reviewed on ``server``, whose log folders are read."""
    return sorted({_role(c) for c in chosen if _same_server(c.server, server)}) or [
        "FrontendTransport"]


def _role(connector: ReceiveConnector) -> str:
    return connector.transport_role or "FrontendTransport"


def _size_text(size: int | None) -> str:
    if size is None:
        return "unlimited"
    return f"{size:,} bytes ({size / 1024 / 1024:,.0f} MB)"


def _tolerance(start: _dt.datetime, end: _dt.datetime) -> _dt.timedelta:
    # Quiet hours at the very start are normal; a day (or a tenth of a short period) is not.
    return min(_dt.timedelta(days=1), (end - start) / 10)


def _unit(period: _dt.timedelta) -> tuple[str, float]:
    """The unit a period is best told in: seconds, minutes, hours or days."""
    seconds = period.total_seconds()
    if seconds < 120:
        return "second", 1.0
    if seconds < 2 * 3600:
        return "minute", 60.0
    if seconds < 2 * 86400:
        return "hour", 3600.0
    return "day", 86400.0


def _number(value: float, decimals: int = 1) -> str:
    return f"{value:.{decimals}f}".rstrip("0").rstrip(".")


def duration_text(period: _dt.timedelta) -> str:
    """A period as a person says it: ``45 minutes``, ``2.4 hours``, ``30 days``."""
    name, size = _unit(period)
    amount = _number(period.total_seconds() / size)
    return f"{amount} {name}{'' if amount == '1' else 's'}"


def _share_text(covered: _dt.timedelta, asked: _dt.timedelta) -> str:
    """``2.3 of the 2.4 hours``: the part covered, in the unit of the period asked."""
    name, size = _unit(asked)
    part, whole = covered.total_seconds() / size, asked.total_seconds() / size
    if _number(part) == "0" and covered > _dt.timedelta(0):
        return f"{duration_text(covered)} of the {duration_text(asked)}"  # not "0 of the 7"
    decimals = 1
    while _number(part, decimals) == _number(whole, decimals) and decimals < 4:
        decimals += 1  # never "0.1 of the 0.1": show the digit where they differ
    return f"{_number(part, decimals)} of the {duration_text(asked)}"


@dataclass(frozen=True)
class _Span:
    """The part of the period some logs cover.

    Args:
        kind: :data:`COVERS_ALL`, :data:`COVERS_PART` or :data:`COVERS_NONE`.
        covered_from: the start of the part covered (None when nothing is).
        covered_until: its end.
        begin: where the logs begin, inside the period or not (None: no line at all).
        finish: where they end.
    """

    kind: str
    covered_from: _dt.datetime | None = None
    covered_until: _dt.datetime | None = None
    begin: _dt.datetime | None = None
    finish: _dt.datetime | None = None


def _time(value: Any) -> _dt.datetime | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).to_pydatetime()


def _bounds(row: Any) -> tuple[_dt.datetime | None, _dt.datetime | None]:
    """Where one folder's logs begin and end: its first and last line read, widened to the
    time in the name of its oldest and newest file (a file is started when logging writes to
    it, so logging ran then, lines or not)."""
    begin = min((t for t in (_time(row.first_line), _time(row.oldest_file)) if t is not None),
                default=None)
    finish = max((t for t in (_time(row.last_line), _time(row.newest_file)) if t is not None),
                 default=None)
    return begin, finish


def _span(begin: _dt.datetime | None, finish: _dt.datetime | None, start: _dt.datetime,
          end: _dt.datetime) -> _Span:
    """The part of [start, end) that logs running from ``begin`` to ``finish`` cover."""
    if begin is None or finish is None or finish < start or begin >= end:
        return _Span(COVERS_NONE, begin=begin, finish=finish)
    covered_from, covered_until = max(start, begin), min(end, finish)
    tolerance = _tolerance(start, end)
    whole = covered_from - start <= tolerance and end - covered_until <= tolerance
    return _Span(COVERS_ALL if whole else COVERS_PART, covered_from, covered_until, begin,
                 finish)


def _coverage_table(facts: LogFacts, start: _dt.datetime, end: _dt.datetime) -> pd.DataFrame:
    """The facts' coverage with, per log folder, the part of the period its logs cover
    (``covered_from``, ``covered_until``), how much (``overlap``) and whether that is the
    whole period (``covers_period``)."""
    coverage = facts.coverage.copy()
    spans = [_span(*_bounds(row), start, end) if _files_found(row) else _Span(COVERS_NONE)
             for row in coverage.itertuples()]
    coverage["covered_from"] = [span.covered_from for span in spans]
    coverage["covered_until"] = [span.covered_until for span in spans]
    coverage["overlap"] = [span.kind for span in spans]
    coverage["covers_period"] = [span.kind == COVERS_ALL for span in spans]
    return coverage


def _files_found(row: Any) -> int:
    """A folder's receive log files: read, or left unread as wholly outside the period."""
    return int(row.files + row.files_before_window + row.files_after_window)


def _folders_of(coverage: pd.DataFrame, server: str, role: str | None = None) -> pd.DataFrame:
    """The receive log folders of ``server`` (of one role when given) that hold files."""
    found = (coverage["files"] + coverage["files_before_window"]
             + coverage["files_after_window"]) > 0
    rows = coverage[(coverage["server"].str.lower() == server.lower())
                    & (coverage["log_type"] == "Receive") & found]
    return rows if role is None else rows[rows["role"] == role]


def _span_of(coverage: pd.DataFrame, server: str, role: str, start: _dt.datetime,
             end: _dt.datetime) -> _Span | None:
    """The part of the period a server's logs of one role cover; None when there are none."""
    rows = _folders_of(coverage, server, role)
    if rows.empty:
        return None
    bounds = [_bounds(row) for row in rows.itertuples()]
    begins = [begin for begin, _ in bounds if begin is not None]
    finishes = [finish for _, finish in bounds if finish is not None]
    return _span(min(begins, default=None), max(finishes, default=None), start, end)


def _only_send_logs(coverage: pd.DataFrame, other_folders: pd.DataFrame, server: str) -> bool:
    """Whether what was found of ``server`` are send logs (folders, or files by header)."""
    mine = other_folders[other_folders["server"].str.lower() == server.lower()]
    rows = coverage[coverage["server"].str.lower() == server.lower()]
    misnamed = any(len(files) for files in rows["other_type_files"])
    return bool(len(mine) and mine["log_type"].str.contains("Send").any()) or misnamed


def _shown(moment: _dt.datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _retention_text(server: str, service: ServiceLogSettings | None) -> str:
    if service is None:
        return ("; ReceiveProtocolLogMaxAge and ReceiveProtocolLogMaxDirectorySize of the "
                "server's transport service decide how much is kept")
    return (f"; {service.cmdlet} {server} keeps them for ReceiveProtocolLogMaxAge "
            f"{service.max_age or '?'} and up to ReceiveProtocolLogMaxDirectorySize "
            f"{_size_text(service.max_directory_size)}: raise these to keep more")


def _gap_warning(server: str, row: Any, span: _Span, service: ServiceLogSettings | None,
                 start: _dt.datetime, end: _dt.datetime) -> str:
    """Why one log folder of ``server`` does not cover the period, and what would help."""
    asked = end - start
    if span.kind == COVERS_NONE:
        if span.begin is None or span.finish is None:
            return (f"{server}: the logs in {row.folder} have no line to tell the time they "
                    f"cover ({row.files} file(s) with headers only), so they say nothing about "
                    f"the period asked: the connectors they belong to have no data.")
        if span.finish < start:
            return (f"{server}: the logs in {row.folder} end at {_shown(span.finish)}, before "
                    f"the period begins ({_shown(start)}), so they say nothing about it: the "
                    f"connectors they belong to have no data. Set end to when the logs were "
                    f"copied, or copy newer logs.")
        return (f"{server}: the logs in {row.folder} begin at {_shown(span.begin)}, after the "
                f"period ends ({_shown(end)}), so they say nothing about it: the connectors "
                f"they belong to have no data. Review a later period, or find older logs.")
    # Some of the period is covered, so both ends are set.
    covered_from, covered_until = span.covered_from or start, span.covered_until or end
    tolerance = _tolerance(start, end)
    late = covered_from - start > tolerance
    early = end - covered_until > tolerance
    ends = ([f"begin at {_shown(covered_from)}"] if late else []) + (
        [f"end at {_shown(covered_until)}"] if early else [])
    text = (f"{server}: the logs in {row.folder} {' and '.join(ends)}, so they cover "
            f"{_share_text(covered_until - covered_from, asked)} asked "
            f"({_shown(start)} to {_shown(end)})")
    if late:
        text += _retention_text(server, service)
        text += ". Hosts that send less often than that (monthly jobs) may be missing"
    if early:
        text += (". Hosts seen only after the logs end are missing: copy the logs again, or "
                 "set end to when they were copied")
    return text + "."


def _coverage_warnings(coverage: pd.DataFrame, other_folders: pd.DataFrame,
                       settings: list[ServiceLogSettings], start: _dt.datetime,
                       end: _dt.datetime, roles: dict[str, list[str]],
                       logging_roles: dict[str, list[str]]) -> tuple[list[str], dict[str, bool]]:
    """Per server: were its logs found, and do they cover the period? If not, why?

    Args:
        roles: per server, the connector roles reviewed; only their folders count.
        logging_roles: per server, the roles of the reviewed connectors that log; a missing
            folder of one of these is warned about.

    Returns:
        The warnings, and per server (as named in ``roles``) whether its logs cover the
        whole period.
    """
    warnings: list[str] = []
    covers: dict[str, bool] = {}
    for server, reviewed_roles in roles.items():
        rows = _folders_of(coverage, server)
        rows = rows[rows["role"].isin(reviewed_roles)]
        mine = coverage[coverage["server"].str.lower() == server.lower()]
        for row in mine.itertuples():
            for text in row.other_type_files:
                name, _, kind = text.partition(": ")
                warnings.append(f"{server}: {name} in {row.folder} is named as a receive log "
                                f"but its header says it is a {kind.lower()} log; it was not "
                                f"read as a receive log.")
        if rows.empty:
            covers[server] = False
            if _only_send_logs(coverage, other_folders, server):
                found = other_folders[other_folders["server"].str.lower() == server.lower()]
                where = "; ".join(f"{f.folder} ({f.files} file(s))"
                                  for f in found.itertuples()) or "misnamed files"
                warnings.append(f"{server}: only send logs were found ({where}); the review "
                                f"needs the SmtpReceive logs, so nothing is known about "
                                f"its connectors' traffic.")
            elif not mine.empty:
                warnings.append(f"{server}: no receive logs of the "
                                f"{' or '.join(reviewed_roles)} service were found (only "
                                f"{', '.join(sorted(set(mine['role'])))}), so nothing is "
                                f"known about the reviewed connectors' traffic.")
            else:
                warnings.append(f"{server}: no protocol log files were found, so nothing is "
                                f"known about its connectors' traffic.")
            continue
        # A role whose connectors all have logging off needs no logs to be judged.
        missing = [role for role in logging_roles.get(server, [])
                   if role not in set(rows["role"])]
        for role in missing:
            warnings.append(f"{server}: no receive logs of the {role} service were found, so "
                            f"nothing is known about the traffic of its {role} connectors.")
        covers[server] = bool(rows["covers_period"].all()) and not missing
        for row in rows.itertuples():
            if row.covers_period:
                continue
            service = next((s for s in settings if _same_server(s.server, server)
                            and s.role == row.role), None)
            warnings.append(_gap_warning(server, row, _span(*_bounds(row), start, end),
                                         service, start, end))
    return warnings, covers


def _entry_rows(connector: ReceiveConnector, hosts: pd.DataFrame, warnings: list[str]
                ) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """Each RemoteIPRanges entry with the hosts inside it (state ``active`` when there are
    any, empty until the caller decides what an entry without hosts is); each host's entries.

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
    for text, entry in parsed:
        inside = hosts_of_entry[text]
        rows.append({
            "connector": connector.identity,
            "entry": text,
            "state": ENTRY_ACTIVE if inside else "",
            "hosts": [address for address, _, _ in inside],
            "sessions": sum(count for _, count, _ in inside),
            "last_seen": max((seen for _, _, seen in inside), default=None),
            "note": "",
            "range": entry,
        })
    return rows, entries_of_host


def _kept_because(connector: ReceiveConnector, entry: IPRangeEntry) -> str:
    """Why a silent entry is not offered for removal, or "" when it is."""
    if connector.created_by_setup:
        return (f"{connector.identity} is a connector Exchange setup creates; its entries "
                f"carry the server's own mail flow and are not offered for removal")
    if entry.size == 2 ** entry.first.max_prefixlen:
        return (f"covers every IPv{entry.version} address, so it stands for no device; "
                f"not offered for removal")
    return ""


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
    """Check the servers, then read the connectors to review, their servers' log settings
    and the server addresses."""
    known = _organization_servers(shell, warnings)
    _check_servers(servers, known)
    all_connectors = [c for server in servers for c in receive_connectors(shell, server)]
    chosen = _selected(all_connectors, wanted, servers)
    settings = [setting for server in servers
                for setting in _settings(shell, server, _roles_on(server, chosen), warnings)]
    return _Configuration(chosen, settings, _addresses_of(known))


def _read_facts(source: LogSource, shell: Shell, servers: list[str],
                chosen: list[ReceiveConnector], start: _dt.datetime, end: _dt.datetime,
                workers: int | None) -> LogFacts:
    """Read the log folders of each server's reviewed roles over the period."""
    builder = FactsBuilder(start, end, workers=workers)
    for server in servers:
        for folder in source.folders(server, shell, _roles_on(server, chosen)):
            builder.add_folder(folder)
    return builder.facts()


def _no_data_reason(connector: ReceiveConnector, span: _Span | None, only_send: bool
                    ) -> str | None:
    """Why the logs cannot tell who uses ``connector`` (a connector status), or None."""
    if connector.protocol_logging_level.lower() == "none":
        return NO_DATA_LOGGING_OFF
    if span is None:
        return NO_DATA_ONLY_SEND if only_send else NO_DATA_NO_FILES
    if span.kind == COVERS_NONE:
        return NO_DATA_NO_OVERLAP
    return None


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _join(chosen: list[ReceiveConnector], hosts: pd.DataFrame, coverage: pd.DataFrame,
          other_folders: pd.DataFrame, start: _dt.datetime, end: _dt.datetime,
          warnings: list[str]) -> _Joined:
    """Each connector's status and entries from its hosts; fills ``hosts["in_entries"]``.

    An entry without hosts is *silent* (offered for removal) only when the connector logs and
    its server's logs of its role cover the whole period; otherwise it is unknown, and why is
    said in its state, its note and the warnings.
    """
    joined = _Joined()
    for connector in chosen:
        mine = hosts[hosts["connector"].str.lower() == connector.identity.lower()]
        span = _span_of(coverage, connector.server, _role(connector), start, end)
        reason = _no_data_reason(connector, span,
                                 _only_send_logs(coverage, other_folders, connector.server))
        if len(mine):
            status = IN_USE  # hosts were seen: whatever else is true, it is in use
        elif reason:
            status = reason
        else:
            status = NO_TRAFFIC if span and span.kind == COVERS_ALL else NO_TRAFFIC_IN_PART
        if len(mine) and reason == NO_DATA_LOGGING_OFF:
            warnings.append(
                f"{connector.identity}: ProtocolLoggingLevel is None, yet the logs show "
                f"{_plural(int(mine['sessions'].sum()), 'session', 'sessions')} in the period: "
                f"logging was turned off during it, so hosts that came after are missing.")

        rows, entries_of_host = _entry_rows(connector, mine, warnings)
        for index in mine.index:
            hosts.at[index, "in_entries"] = entries_of_host.get(
                hosts.at[index, "remote_address"], [])
        for row in rows:
            entry = row.pop("range")
            if row["state"]:
                continue
            if reason:
                row["state"] = "unknown: " + reason.removeprefix("no data: ")
            elif span is not None and span.kind == COVERS_PART:
                row["state"] = ENTRY_NOT_SEEN_IN_PART
                row["note"] = (f"the logs cover {_shown(span.covered_from)} to "
                               f"{_shown(span.covered_until)} only")
            else:
                kept = _kept_because(connector, entry)
                row["state"] = ENTRY_KEPT if kept else ENTRY_SILENT
                row["note"] = kept
        silent = [row["entry"] for row in rows if row["state"] == ENTRY_SILENT]
        if silent:
            joined.removal[connector.identity] = silent
        not_seen = sum(row["state"] == ENTRY_NOT_SEEN_IN_PART for row in rows)
        if not_seen and span is not None and span.covered_from and span.covered_until:
            warnings.append(
                f"{connector.identity}: {_plural(not_seen, 'entry was', 'entries were')} not "
                f"seen, but the logs of {connector.server} cover only "
                f"{_share_text(span.covered_until - span.covered_from, end - start)} asked, "
                f"so {'it is' if not_seen == 1 else 'they are'} not offered for removal.")
        if reason == NO_DATA_LOGGING_OFF:
            joined.logging_off.append(connector.identity)

        joined.entry_rows += rows
        joined.connector_rows.append({
            "connector": connector.identity, "server": connector.server,
            "transport_role": connector.transport_role,
            "protocol_logging_level": connector.protocol_logging_level, "status": status,
            "covered_from": span.covered_from if span else None,
            "covered_until": span.covered_until if span else None,
            "entries": len(connector.remote_ip_ranges),
            "active_entries": sum(r["state"] == ENTRY_ACTIVE for r in rows),
            "silent_entries": sum(r["state"] == ENTRY_SILENT for r in rows),
            "kept_entries": sum(r["state"] == ENTRY_KEPT for r in rows),
            "unknown_entries": sum(r["state"].startswith("unknown") for r in rows),
            "hosts": len(mine), "sessions": int(mine["sessions"].sum()),
            "recipients_refused": int(mine["recipients_refused"].sum()),
            "last_seen": mine["last_seen"].max() if len(mine) else None,
        })
    return joined


def _closing_warnings(logging_off: list[str], facts: LogFacts, coverage: pd.DataFrame,
                      period: _dt.timedelta) -> list[str]:
    """What the reader must know about connectors without logging and malformed lines."""
    warnings = []
    if logging_off:
        names = ", ".join(logging_off)
        one = len(logging_off) == 1
        warnings.append(
            f"No data for {names}: ProtocolLoggingLevel is None, so the logs cannot show who "
            f"uses {'it' if one else 'them'}. To find out, run Set-ReceiveConnector "
            f"'{logging_off[0] if one else '<identity>'}' -ProtocolLoggingLevel Verbose and "
            f"review again after {duration_text(period)}.")
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
        InputErrors: a parameter is wrong (a server the organization does not have, a
            connector not on the servers reviewed); nothing was read.
    """
    server_list, period, wanted = _validate(servers, days, connectors)
    end = _period_end(end)
    start = end - _dt.timedelta(days=period)
    source = open_log_source(log_source, **(source_options or {}))
    owned = source if source is not log_source else contextlib.nullcontext(source)
    logger.info("reviewing %s over %s with logs from %s", ", ".join(server_list),
                duration_text(end - start), source.describe())

    warnings: list[str] = []
    with owned:
        config = _read_configuration(shell, server_list, wanted, warnings)
        already = len(source.warnings)
        facts = _read_facts(source, shell, server_list, config.chosen, start, end, workers)
        for text in source.warnings[already:]:
            if text not in warnings:
                warnings.append(text)

    coverage = _coverage_table(facts, start, end)
    roles = {server: _roles_on(server, config.chosen) for server in server_list}
    logging_roles = {server: sorted({_role(c) for c in config.chosen
                                     if _same_server(c.server, server)
                                     and c.protocol_logging_level.lower() != "none"})
                     for server in server_list}
    gaps, covers = _coverage_warnings(coverage, facts.other_folders, config.settings, start,
                                      end, roles, logging_roles)
    warnings += gaps

    reviewed = {c.identity.lower() for c in config.chosen}
    hosts = facts.hosts[facts.hosts["connector"].str.lower().isin(reviewed)].copy()
    daily = facts.daily[facts.daily["connector"].str.lower().isin(reviewed)].copy()
    hosts["in_entries"] = [[] for _ in range(len(hosts))]
    # Sessions from an Exchange server (the Hub's port 2525 hop of a proxied message) are not
    # clients; mark them so nobody chases a "device" that is a server.
    hosts["exchange_server"] = [config.servers_by_address.get(a, "")
                                for a in hosts["remote_address"]]
    joined = _join(config.chosen, hosts, coverage, facts.other_folders, start, end, warnings)
    warnings += _closing_warnings(joined.logging_off, facts, coverage, end - start)

    return LingeringHostsReview(
        servers=server_list, start=start, end=end,
        connectors=pd.DataFrame(joined.connector_rows, columns=CONNECTOR_COLUMNS),
        entries=pd.DataFrame(joined.entry_rows, columns=ENTRY_COLUMNS),
        hosts=hosts.reset_index(drop=True), daily=daily.reset_index(drop=True),
        coverage=coverage, malformed=facts.malformed, warnings=warnings,
        removal_candidates=joined.removal, covers_period=covers, log_source=source.describe(),
        other_folders=facts.other_folders,
    )
