"""What the protocol logs say about each host: sessions, names, TLS, logons, recipients.

Facts are kept per (server, connector, remote address) and per server log folder
(reference: protocol logs, section 7; pitfalls 14 to 17):

- a session is one session id in one folder of one server. A session that is still open
  when the file rolls over continues in the next file; it is joined and counted once;
- recipients accepted (``250 2.1.5``), refused (``550 5.7.54``, ``550 5.7.1``,
  ``530 5.7.1``), messages queued (``250 2.6.0``), tarpits and failed logons are counted,
  so a device that is only ever refused is still listed. An exact duplicate of a counted
  line (same session, date-time, sequence number, event, data and context; reference 8.10)
  counts once, when both copies are in the files read together (16 MB at a time);
- TLS is counted from the negotiation line, or, in logs that do not write it (Exchange
  2010), from a STARTTLS that the server answered with ``220 2.0.0`` and that did not fail.
  A STARTTLS refused (``454 4.7.0``) leaves the session in clear text;
- a file is of the log type its ``#Log-type`` header says, whatever its name: a ``RECV``
  file that holds a send log is not read as a receive log;
- per folder, the time the logs actually cover, the files and bytes read, and every
  malformed line with its file and line number.

The files are read in groups on a small thread pool (Arrow does the parsing and the
counting outside Python's lock); the results are merged in file order, and only the
sessions still open at the end of a group are carried to the next one, so memory stays flat
however many files there are.
"""

from __future__ import annotations

import collections
import datetime as _dt
import functools
import logging
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .endpoints import address_column
from .files import LogFile, LogFolder
from .reader import COLUMNS, TIMESTAMP, MalformedLine, ParsedLog, empty_table, parse_log

logger = logging.getLogger(__name__)

#: Reply codes that refuse a recipient: relay refused (2016/2019, and 2013 and older), and
#: not authenticated.
REFUSED_REPLIES = ("550 5.7.54 ", "550 5.7.1 ", "530 5.7.1 ")

#: Malformed lines kept with their text per folder; all are counted.
MALFORMED_DETAIL_LIMIT = 1000

#: A session with no line for this long is taken as ended even without its ``-`` line
#: (the service was restarted, or the line was lost), so open sessions cannot pile up.
_STALE_SESSION_MS = 2 * 3_600_000

_GROUP_BYTES = 16 << 20
_GROUP_FILES = 256
_SUMS = ("accepted", "refused", "queued", "tarpits", "logon_failures")
_FLAGS = ("tls", "authenticated", "closed")


def _ms(value: _dt.datetime | None) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=_dt.timezone.utc)
    return int(value.timestamp() * 1000)


def _utc(ms: int | None) -> _dt.datetime | None:
    if ms is None:
        return None
    return _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc) + _dt.timedelta(milliseconds=ms)


def tls_version_name(token: str) -> str:
    """``SP_PROT_TLS1_2_SERVER`` → ``TLS 1.2``; unknown tokens as they are."""
    match = re.search(r"TLS1_(\d)", token)
    if match:
        return f"TLS 1.{match.group(1)}"
    if re.search(r"TLS1_(SERVER|CLIENT)", token):
        return "TLS 1.0"
    if "SSL3" in token:
        return "SSL 3.0"
    return token


# ---------------------------------------------------------------------------------------------
# One group of files, in a worker thread


@dataclass
class _GroupResult:
    files: list[LogFile]
    bytes: int = 0
    lines: int = 0
    rows: int = 0
    first_ms: int | None = None
    last_ms: int | None = None
    malformed: list[MalformedLine] = field(default_factory=list)
    versions: set[str] = field(default_factory=set)
    log_types: set[str] = field(default_factory=set)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    other_type: list[tuple[LogFile, str]] = field(default_factory=list)
    duplicates: int = 0
    sessions: pa.Table | None = None
    texts: pa.Table | None = None


#: The columns that make two log lines the same line (reference: protocol logs, 8.10).
_LINE_IDENTITY = ("session-id", "connector-id", "remote-endpoint", "date-time",
                  "sequence-number", "event", "data", "context")


def _line_keys(table: pa.Table) -> pa.ChunkedArray:
    """A number per line from its date-time and sequence number: equal for exact duplicates
    (and, rarely, for other lines of the same millisecond, which a closer look tells apart)."""
    try:
        sequence = pc.cast(table["sequence-number"], pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # Not a number (a damaged line): the text's position in a dictionary is as good.
        sequence = pc.dictionary_encode(table["sequence-number"].combine_chunks()).indices
        sequence = pc.cast(sequence, pa.int64())
    milliseconds = pc.cast(table["date-time"], pa.int64())
    return pc.add(pc.multiply(milliseconds, 1 << 20), pc.bit_wise_and(sequence, (1 << 20) - 1))


def _drop_duplicate_counts(flags: pa.Table, table: pa.Table, counted: pa.ChunkedArray
                           ) -> tuple[pa.Table, int]:
    """``flags`` without exact duplicates of the lines that are counted, and how many went.

    Only counted lines matter: a repeated connect or greeting changes no count. The check
    costs one grouping of the counted lines' (session, time, sequence) keys; only when two
    share a key are the lines compared whole.
    """
    keys = pa.table({"session-id": table["session-id"], "key": _line_keys(table)}
                    ).filter(counted)
    if keys.num_rows < 2 or keys.group_by(["session-id", "key"], use_threads=False
                                          ).aggregate([]).num_rows == keys.num_rows:
        return flags, 0
    names = [name for name in flags.column_names if name not in _LINE_IDENTITY]
    lines = pa.table({**{name: table[name] for name in _LINE_IDENTITY},
                      **{name: flags[name] for name in names}}).filter(counted)
    # The flags follow from event, data and context, so equal lines have equal flags.
    distinct = lines.group_by(list(_LINE_IDENTITY), use_threads=False).aggregate(
        [(name, "any") for name in names])
    kept = pa.table({name: (distinct[f"{name}_any"] if name in names else distinct[name])
                     for name in flags.column_names})
    dropped = lines.num_rows - kept.num_rows
    logger.info("%d exact duplicate log line(s) counted once", dropped)
    return pa.concat_tables([flags.filter(pc.invert(counted)), kept]), dropped


def _session_tables(table: pa.Table) -> tuple[pa.Table, pa.Table, set[str], int]:
    """Rows → one row per session with its counts, the distinct names per host, the remote
    endpoints that are not IP addresses (their sessions are left out), and how many exact
    duplicate lines were counted once.

    Every test here is a prefix or an equality on short text: they cost a few nanoseconds a
    row, where a substring search through every data field would cost ten times more.
    """
    event, data, context = table["event"], table["data"], table["context"]
    sent = pc.equal(event, ">")
    received = pc.equal(event, "<")
    info = pc.equal(event, "*")
    # Commands may come in any letter case (``ehlo``, ``AUTH login``); compare their first
    # characters upper-cased.
    head = pc.ascii_upper(pc.utf8_slice_codeunits(data, 0, 14))

    def reply(prefix: str) -> pa.ChunkedArray:
        return pc.and_(sent, pc.starts_with(head, prefix))

    def command(*words: str) -> pa.ChunkedArray:
        found = pc.starts_with(head, words[0])
        for word in words[1:]:
            found = pc.or_(found, pc.starts_with(head, word))
        return pc.and_(received, found)

    refused = reply(REFUSED_REPLIES[0])
    for prefix in REFUSED_REPLIES[1:]:
        refused = pc.or_(refused, reply(prefix))
    tls_succeeded = pc.and_(info, pc.starts_with(context, "TLS protocol "))
    authenticated = pc.and_(info, pc.equal(context, "authenticated"))
    greeting = command("EHLO ", "HELO ")
    tried_user = pc.and_(info, pc.starts_with(context, "User Name: "))
    counts = {
        "accepted": reply("250 2.1.5"),
        "refused": refused,
        "queued": reply("250 2.6.0"),
        "tarpits": pc.and_(info, pc.starts_with(head, "TARPIT FOR")),
        "logon_failures": reply("535 5.7.3"),
    }
    flags = pa.table({
        "session-id": table["session-id"],
        "connector-id": table["connector-id"],
        "remote-endpoint": table["remote-endpoint"],
        "date-time": table["date-time"],
        **counts,
        "tls_succeeded": tls_succeeded,
        "starttls": command("STARTTLS", "X-ANONYMOUSTLS"),
        # The server's go-ahead for the handshake; a refusal is 454 4.7.0 and mail then
        # goes on in clear text.
        "tls_ready": reply("220 2.0.0"),
        "tls_failed": pc.and_(info, pc.starts_with(context, "TLS negotiation failed")),
        "authenticated": authenticated,
        "closed": pc.equal(event, "-"),
    })
    counted = functools.reduce(pc.or_, counts.values())
    flags, duplicates = _drop_duplicate_counts(flags, table, counted)
    grouped = flags.group_by(["session-id", "connector-id", "remote-endpoint"],
                             use_threads=False).aggregate(
        [("date-time", "min"), ("date-time", "max")]
        + [(name, "sum") for name in _SUMS]
        + [(name, "any") for name in ("tls_succeeded", "starttls", "tls_ready", "tls_failed",
                                      "authenticated", "closed")])
    # Logs that do not write the negotiation line (Exchange 2010): a STARTTLS the server
    # agreed to, with no failure after it, is TLS.
    tls = pc.or_(grouped["tls_succeeded_any"], pc.and_(
        pc.and_(grouped["starttls_any"], grouped["tls_ready_any"]),
        pc.invert(grouped["tls_failed_any"])))
    addresses, invalid = address_column(grouped["remote-endpoint"])
    sessions = pa.table({
        "session-id": grouped["session-id"],
        "connector-id": grouped["connector-id"],
        "address": addresses,
        "first": grouped["date-time_min"],
        "last": grouped["date-time_max"],
        **{name: pc.cast(grouped[f"{name}_sum"], pa.int64()) for name in _SUMS},
        "tls": tls,
        "authenticated": grouped["authenticated_any"],
        "closed": grouped["closed_any"],
    }).filter(pc.is_valid(addresses))
    names = _names(table, greeting, authenticated, tried_user, tls_succeeded)
    return sessions, names, invalid, duplicates


_NO_NAMES = pa.schema([("connector-id", pa.string()), ("address", pa.string()),
                       ("kind", pa.string()), ("value", pa.string())])


def _names(table: pa.Table, greeting: pa.ChunkedArray, authenticated: pa.ChunkedArray,
           tried_user: pa.ChunkedArray, tls_succeeded: pa.ChunkedArray) -> pa.Table:
    """The distinct EHLO names, users and TLS versions per (connector, address)."""
    wanted = pc.or_(pc.or_(greeting, authenticated), pc.or_(tried_user, tls_succeeded))
    subset = table.select(["connector-id", "remote-endpoint", "data", "context"]).append_column(
        "greeting", greeting).append_column("authenticated", authenticated) \
        .append_column("tried_user", tried_user).filter(wanted)
    if not subset.num_rows:
        return _NO_NAMES.empty_table()
    data, context = subset["data"], subset["context"]
    # "TLS protocol SP_PROT_TLS1_2_SERVER negotiation succeeded ...": the fourth word.
    tls_version = pc.list_element(pc.split_pattern(
        pc.utf8_slice_codeunits(context, len("TLS protocol "), 80), " ", max_splits=1), 0)
    kind = pc.if_else(subset["greeting"], "ehlo", pc.if_else(
        subset["authenticated"], "user", pc.if_else(subset["tried_user"], "tried_user",
                                                    "tls_version")))
    value = pc.if_else(subset["greeting"], pc.utf8_slice_codeunits(data, 5), pc.if_else(
        subset["authenticated"], data, pc.if_else(
            subset["tried_user"], pc.utf8_slice_codeunits(context, len("User Name: ")),
            tls_version)))
    # A few lines per session: their endpoints are turned into addresses directly, and one
    # grouping leaves the distinct values per host.
    addresses, _ = address_column(subset["remote-endpoint"])
    named = pa.table({"connector-id": subset["connector-id"], "address": addresses,
                      "kind": kind, "value": pc.utf8_trim_whitespace(value)})
    named = named.filter(pc.and_(pc.is_valid(addresses), pc.not_equal(named["value"], "")))
    return named.group_by(["connector-id", "address", "kind", "value"],
                          use_threads=False).aggregate([])


def _declared_type(parsed: ParsedLog) -> str | None:
    """``Receive`` or ``Send`` as the file's ``#Log-type`` header says, or None."""
    declared = (parsed.log_type or "").lower()
    return next((kind for kind in ("Receive", "Send") if kind.lower() in declared), None)


def _read_group(files: Sequence[LogFile], start_ms: int | None, end_ms: int | None,
                log_type: str = "Receive") -> _GroupResult:
    """Read and count one group of consecutive files of one log type (in a worker thread).

    A file whose header declares the other log type is left out and reported in
    ``other_type``: the header, not the name, says what a file holds.
    """
    result = _GroupResult(list(files))
    parsed_files: list[tuple[LogFile, ParsedLog]] = []
    for log_file in files:
        try:
            data = log_file.read()
        except OSError as error:
            logger.warning("cannot read %s: %s", log_file.location, error)
            result.unreadable.append((log_file.location, str(error)))
            continue
        parsed = parse_log(data, log_file.location, check_endpoints=False)
        declared = _declared_type(parsed)
        if declared is not None and declared != log_type:
            logger.warning("%s is named as a %s log but its header says %s", log_file.location,
                           log_type.lower(), parsed.log_type)
            result.other_type.append((log_file, declared))
            continue
        parsed_files.append((log_file, parsed))

    table, invalid = _count(parsed_files, result, start_ms, end_ms)
    if invalid:
        # Rare: an endpoint that is not an IP address. Read the files that have one line by
        # line, so each bad line is reported with its number and left out, and count again.
        bad = pa.array(sorted(invalid), pa.string())
        for index, (log_file, parsed) in enumerate(parsed_files):
            if pc.any(pc.is_in(parsed.table["remote-endpoint"], bad)).as_py():
                parsed_files[index] = (log_file, parse_log(log_file.read(), log_file.location,
                                                           careful=True))
        table, _ = _count(parsed_files, result, start_ms, end_ms)
    result.rows = table.num_rows

    for _, parsed in parsed_files:
        result.bytes += parsed.size
        result.lines += parsed.lines
        result.malformed.extend(parsed.malformed)
        for header in parsed.headers:
            if header.version:
                result.versions.add(header.version)
            if header.log_type:
                result.log_types.add(header.log_type)
    return result


def _count(parsed_files: list[tuple[LogFile, ParsedLog]], result: _GroupResult,
           start_ms: int | None, end_ms: int | None) -> tuple[pa.Table, set[str]]:
    """The group's rows in the period and any invalid endpoints; fills in ``result``'s
    sessions, names, time span and duplicate count."""
    tables = [parsed.table for _, parsed in parsed_files if parsed.table.num_rows]
    table = pa.concat_tables(tables) if tables else empty_table(COLUMNS)
    if table.num_rows:
        low, high = pc.min_max(table["date-time"]).values()
        result.first_ms, result.last_ms = _ms(low.as_py()), _ms(high.as_py())
        if start_ms is not None and result.first_ms < start_ms:
            table = table.filter(pc.greater_equal(
                table["date-time"], pa.scalar(start_ms, pa.timestamp("ms", tz="UTC"))))
        if end_ms is not None and result.last_ms >= end_ms:
            table = table.filter(pc.less(
                table["date-time"], pa.scalar(end_ms, pa.timestamp("ms", tz="UTC"))))
    result.sessions, result.texts, invalid, result.duplicates = _session_tables(table)
    return table, invalid


# ---------------------------------------------------------------------------------------------
# Merging, in file order, in the calling thread


@dataclass
class HostTally:
    """Everything counted for one (server, connector, remote address)."""

    sessions: int = 0
    first_ms: int | None = None
    last_ms: int | None = None
    accepted: int = 0
    refused: int = 0
    queued: int = 0
    tarpits: int = 0
    logon_failures: int = 0
    tls_sessions: int = 0
    authenticated_sessions: int = 0
    names: dict[str, set[str]] = field(default_factory=lambda: collections.defaultdict(set))
    per_day: collections.Counter = field(default_factory=collections.Counter)


@dataclass
class FolderTally:
    """What was read from one log folder."""

    server: str
    folder: str
    log_type: str
    role: str = "FrontendTransport"
    files: int = 0
    files_before_window: int = 0
    files_after_window: int = 0
    oldest_file_ms: int | None = None
    newest_file_ms: int | None = None
    duplicates: int = 0
    other_type: list[tuple[LogFile, str]] = field(default_factory=list)
    bytes: int = 0
    lines: int = 0
    rows: int = 0
    first_ms: int | None = None
    last_ms: int | None = None
    malformed_count: int = 0
    malformed: list[MalformedLine] = field(default_factory=list)
    versions: set[str] = field(default_factory=set)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    unrecognised: list[str] = field(default_factory=list)


_COUNTS = ("sessions", "tls", "authenticated", *_SUMS)
_COMPACT_ROWS = 50_000


class _Partials:
    """Per-host and per-day counts of many groups, merged in Arrow as they grow.

    Adding them up row by row in Python would cost more than reading the logs; a few
    hundred hosts a group, merged every few dozen groups, cost next to nothing.
    """

    def __init__(self) -> None:
        self.per_host: list[pa.Table] = []
        self.per_day: list[pa.Table] = []
        self.names: list[pa.Table] = []
        self.rows = 0

    def add_sessions(self, sessions: pa.Table) -> None:
        counted = pa.table({
            "connector-id": sessions["connector-id"], "address": sessions["address"],
            "day": pc.cast(sessions["first"], pa.date32()),
            "first": sessions["first"], "last": sessions["last"],
            "sessions": pa.array(np.ones(sessions.num_rows, dtype=np.int64)),
            "tls": pc.cast(sessions["tls"], pa.int64()),
            "authenticated": pc.cast(sessions["authenticated"], pa.int64()),
            **{name: sessions[name] for name in _SUMS},
        })
        self.per_host.append(_sum_hosts(counted))
        self.per_day.append(_sum_days(counted))
        self.rows += self.per_host[-1].num_rows + self.per_day[-1].num_rows
        if self.rows > _COMPACT_ROWS:
            self._compact()

    def add_names(self, names: pa.Table) -> None:
        self.names.append(names)
        self.rows += names.num_rows
        if self.rows > _COMPACT_ROWS:
            self._compact()

    def _compact(self) -> None:
        self.per_host = [_sum_hosts(pa.concat_tables(self.per_host))] if self.per_host else []
        self.per_day = [_sum_days(pa.concat_tables(self.per_day))] if self.per_day else []
        self.names = [_distinct_names(pa.concat_tables(self.names))] if self.names else []
        self.rows = sum(t.num_rows for t in self.per_host + self.per_day + self.names)

    def totals(self) -> tuple[pa.Table, pa.Table, pa.Table]:
        self._compact()
        return (self.per_host[0] if self.per_host else _sum_hosts(None),
                self.per_day[0] if self.per_day else _sum_days(None),
                self.names[0] if self.names else _NO_NAMES.empty_table())


def _sum_hosts(table: pa.Table | None) -> pa.Table:
    if table is None:
        return pa.table({"connector-id": pa.array([], pa.string()),
                         "address": pa.array([], pa.string()),
                         "first": pa.array([], TIMESTAMP), "last": pa.array([], TIMESTAMP),
                         **{name: pa.array([], pa.int64()) for name in _COUNTS}})
    grouped = table.group_by(["connector-id", "address"], use_threads=False).aggregate(
        [("first", "min"), ("last", "max")] + [(name, "sum") for name in _COUNTS])
    return pa.table({"connector-id": grouped["connector-id"], "address": grouped["address"],
                     "first": grouped["first_min"], "last": grouped["last_max"],
                     **{name: grouped[f"{name}_sum"] for name in _COUNTS}})


def _sum_days(table: pa.Table | None) -> pa.Table:
    if table is None:
        return pa.table({"connector-id": pa.array([], pa.string()),
                         "address": pa.array([], pa.string()),
                         "day": pa.array([], pa.date32()), "sessions": pa.array([], pa.int64())})
    grouped = table.group_by(["connector-id", "address", "day"], use_threads=False).aggregate(
        [("sessions", "sum")])
    return grouped.rename_columns(["connector-id", "address", "day", "sessions"])


def _distinct_names(table: pa.Table) -> pa.Table:
    return table.group_by(["connector-id", "address", "kind", "value"],
                          use_threads=False).aggregate([])


def _regroup(sessions: pa.Table) -> pa.Table:
    grouped = sessions.group_by(["session-id", "connector-id", "address"],
                                use_threads=False).aggregate(
        [("first", "min"), ("last", "max")] + [(name, "sum") for name in _SUMS]
        + [(name, "any") for name in _FLAGS])
    return pa.table({
        "session-id": grouped["session-id"], "connector-id": grouped["connector-id"],
        "address": grouped["address"], "first": grouped["first_min"],
        "last": grouped["last_max"],
        **{name: grouped[f"{name}_sum"] for name in _SUMS},
        **{name: grouped[f"{name}_any"] for name in _FLAGS},
    })


class FactsBuilder:
    """Reads log folders and keeps the facts, host by host.

    Args:
        start: the first moment of the period asked about (UTC); earlier lines are left out.
        end: the end of the period (exclusive); later lines are left out.
        workers: threads that read files; two suits a two-core machine.
    """

    def __init__(self, start: _dt.datetime | None = None, end: _dt.datetime | None = None,
                 *, workers: int | None = None) -> None:
        self.start_ms = _ms(start)
        self.end_ms = _ms(end)
        self.workers = workers or min(4, os.cpu_count() or 2)
        self.hosts: dict[tuple[str, str, str, str], HostTally] = {}
        self._partials: dict[tuple[str, str], _Partials] = {}
        self.folders: list[FolderTally] = []
        #: Folders not read because they hold only logs of a type not asked for.
        self.other_folders: list[dict[str, Any]] = []

    # -- reading

    def add_folder(self, folder: LogFolder, *, log_types: Iterable[str] = ("Receive",)) -> None:
        """Read every file of ``folder`` of the given log types and add its facts.

        A folder whose files are all of a type not asked for (the SmtpSend folder beside the
        SmtpReceive one) is not read; it is noted in :attr:`other_folders`. A file whose
        header declares another type than its name is read as the type it declares, when
        that type is asked for (receive logs are read first, so a ``RECV`` file holding a
        send log reaches the send facts).
        """
        asked = [kind for kind in ("Receive", "Send") if kind in set(log_types)]
        declared: dict[str, list[LogFile]] = {kind: [] for kind in asked}
        read_any = False
        for log_type in asked:
            files = sorted(folder.of_type(log_type) + declared[log_type],
                           key=lambda f: (f.parsed_name.started, f.parsed_name.number))  # type: ignore[union-attr]
            if not files and folder.files:
                continue  # a folder of the other log type, such as SmtpSend
            read_any = True
            tally = FolderTally(folder.server, folder.location, log_type, role=folder.role,
                                unrecognised=list(folder.unrecognised))
            self.folders.append(tally)
            wanted = self._in_window(files, tally)
            logger.info("%s: reading %d %s log file(s) in %s", folder.server, len(wanted),
                        log_type.lower(), folder.location)
            self._read(folder.server, log_type, wanted, tally)
            for log_file, kind in tally.other_type:
                if kind in declared and asked.index(kind) > asked.index(log_type):
                    declared[kind].append(log_file)
        if not read_any and folder.files:
            kinds = collections.Counter(f.parsed_name.log_type for f in folder.files
                                        if f.parsed_name is not None)
            self.other_folders.append({"server": folder.server, "folder": folder.location,
                                       "role": folder.role, "log_type": ", ".join(kinds),
                                       "files": len(folder.files)})

    def _in_window(self, files: list[LogFile], tally: FolderTally) -> list[LogFile]:
        """The files that can hold lines of the period; counts the others."""
        starts = [_ms(f.parsed_name.started) for f in files]  # type: ignore[union-attr]
        if starts:
            tally.oldest_file_ms, tally.newest_file_ms = starts[0], starts[-1]
        wanted = []
        slack = 3_600_000  # lines can be a little earlier than the file's name says
        for index, log_file in enumerate(files):
            next_start = starts[index + 1] if index + 1 < len(files) else None
            if (self.start_ms is not None and next_start is not None
                    and next_start + slack < self.start_ms):
                tally.files_before_window += 1
                continue
            if self.end_ms is not None and starts[index] - slack >= self.end_ms:
                tally.files_after_window += 1
                continue
            wanted.append(log_file)
        return wanted

    def _groups(self, files: list[LogFile]) -> Iterator[list[LogFile]]:
        group: list[LogFile] = []
        size = 0
        for log_file in files:
            group.append(log_file)
            size += log_file.size if log_file.size is not None else 1 << 20
            if size >= _GROUP_BYTES or len(group) >= _GROUP_FILES:
                yield group
                group, size = [], 0
        if group:
            yield group

    def _read(self, server: str, log_type: str, files: list[LogFile], tally: FolderTally
              ) -> None:
        carry: pa.Table | None = None
        pending: collections.deque[Future[_GroupResult]] = collections.deque()
        with ThreadPoolExecutor(self.workers, thread_name_prefix="protocol-log") as pool:
            groups = self._groups(files)
            for group in groups:
                pending.append(pool.submit(_read_group, group, self.start_ms, self.end_ms,
                                           log_type))
                # Bounded read-ahead keeps memory flat: at most a few groups in flight.
                if len(pending) > self.workers:
                    carry = self._merge(server, log_type, pending.popleft().result(), tally,
                                        carry)
            while pending:
                carry = self._merge(server, log_type, pending.popleft().result(), tally, carry)
        if carry is not None and carry.num_rows:
            # Sessions still open at the end of the log (or cut off by the period) count too.
            self._fold(server, log_type, carry)
        self._flush(server, log_type)

    def _merge(self, server: str, log_type: str, result: _GroupResult, tally: FolderTally,
               carry: pa.Table | None) -> pa.Table:
        tally.files += len(result.files) - len(result.other_type)
        tally.other_type += result.other_type
        tally.duplicates += result.duplicates
        tally.bytes += result.bytes
        tally.lines += result.lines
        tally.rows += result.rows
        tally.versions |= result.versions
        tally.unreadable += result.unreadable
        tally.malformed_count += len(result.malformed)
        room = MALFORMED_DETAIL_LIMIT - len(tally.malformed)
        tally.malformed += result.malformed[:max(room, 0)]
        for line in result.malformed[:5]:
            logger.warning("malformed line: %s", line)
        if result.first_ms is not None and result.last_ms is not None:
            tally.first_ms = (result.first_ms if tally.first_ms is None
                              else min(tally.first_ms, result.first_ms))
            tally.last_ms = (result.last_ms if tally.last_ms is None
                             else max(tally.last_ms, result.last_ms))

        self._fold_names(server, log_type, result.texts)
        sessions = result.sessions
        if carry is not None and carry.num_rows:
            # Only the sessions that go on from the last group need joining.
            going_on = pc.is_in(sessions["session-id"], carry["session-id"])
            sessions = pa.concat_tables([
                sessions.filter(pc.invert(going_on)),
                _regroup(pa.concat_tables([carry, sessions.filter(going_on)]))])
        ended = sessions["closed"]
        if result.first_ms is not None:
            stale = pc.less(sessions["last"], pa.scalar(result.first_ms - _STALE_SESSION_MS,
                                                        pa.timestamp("ms", tz="UTC")))
            ended = pc.or_(ended, stale)
        self._fold(server, log_type, sessions.filter(ended))
        return sessions.filter(pc.invert(ended))

    def _tally(self, server: str, log_type: str, connector: str, address: str) -> HostTally:
        key = (server, log_type, connector, address)
        tally = self.hosts.get(key)
        if tally is None:
            tally = self.hosts[key] = HostTally()
        return tally

    def _fold(self, server: str, log_type: str, sessions: pa.Table) -> None:
        """Add ended sessions to the per-host counts (kept as small Arrow tables)."""
        if not sessions.num_rows:
            return
        partial = self._partials.setdefault((server, log_type), _Partials())
        partial.add_sessions(sessions)

    def _fold_names(self, server: str, log_type: str, texts: pa.Table | None) -> None:
        if texts is not None and texts.num_rows:
            self._partials.setdefault((server, log_type), _Partials()).add_names(texts)

    def _flush(self, server: str, log_type: str) -> None:
        """Turn the counts of one server's log type into host tallies."""
        partial = self._partials.pop((server, log_type), None)
        if partial is None:
            return
        per_host, per_day, names = partial.totals()
        for row in per_host.to_pylist():
            tally = self._tally(server, log_type, row["connector-id"], row["address"])
            tally.sessions += row["sessions"]
            first, last = _ms(row["first"]), _ms(row["last"])
            tally.first_ms = first if tally.first_ms is None else min(tally.first_ms, first)
            tally.last_ms = last if tally.last_ms is None else max(tally.last_ms, last)
            tally.tls_sessions += row["tls"]
            tally.authenticated_sessions += row["authenticated"]
            for name in _SUMS:
                setattr(tally, name, getattr(tally, name) + row[name])
        for row in per_day.to_pylist():
            tally = self._tally(server, log_type, row["connector-id"], row["address"])
            tally.per_day[row["day"]] += row["sessions"]
        for row in names.to_pylist():
            tally = self._tally(server, log_type, row["connector-id"], row["address"])
            tally.names[row["kind"]].add(row["value"])

    # -- results

    def facts(self) -> LogFacts:
        """The facts gathered so far, as tables."""
        return LogFacts.from_tallies(self.hosts, self.folders, _utc(self.start_ms),
                                     _utc(self.end_ms), self.other_folders)


# ---------------------------------------------------------------------------------------------
# Results


HOST_COLUMNS = ["server", "log_type", "connector", "remote_address", "sessions", "first_seen",
                "last_seen", "ehlo_names", "tls_sessions", "tls_versions",
                "authenticated_sessions", "anonymous_sessions", "users", "tried_users",
                "recipients_accepted", "recipients_refused", "messages_queued", "tarpits",
                "logon_failures"]
DAILY_COLUMNS = ["server", "log_type", "connector", "remote_address", "day", "sessions"]
COVERAGE_COLUMNS = ["server", "folder", "role", "log_type", "files", "files_before_window",
                    "files_after_window", "bytes", "lines", "rows", "first_line", "last_line",
                    "oldest_file", "newest_file", "versions", "malformed_lines",
                    "duplicate_lines", "unreadable_files", "unrecognised_names",
                    "other_type_files"]
OTHER_FOLDER_COLUMNS = ["server", "folder", "role", "log_type", "files"]
MALFORMED_COLUMNS = ["server", "folder", "file", "line", "reason", "text"]


def _address_key(text: str) -> tuple[int, int]:
    import ipaddress

    address = ipaddress.ip_address(text)
    return (address.version, int(address))


@dataclass
class LogFacts:
    """The facts of one reading of the logs, as pandas tables.

    Args:
        hosts: one row per (server, log type, connector, remote address).
        daily: sessions per day (UTC, by the session's first line) per host.
        coverage: one row per log folder read: its role, files, bytes, the first and last
            line's time, the oldest and newest file's time by name, malformed lines, exact
            duplicates of counted lines, and files whose header says another log type.
        malformed: the malformed lines, with server, folder, file and line number.
        start: the start of the period asked about, if any.
        end: the end of the period, if any.
        other_folders: folders found but not read, because they hold only logs of a type
            not asked for (a SmtpSend folder in a receive review).
    """

    hosts: pd.DataFrame
    daily: pd.DataFrame
    coverage: pd.DataFrame
    malformed: pd.DataFrame
    start: _dt.datetime | None = None
    end: _dt.datetime | None = None
    other_folders: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=OTHER_FOLDER_COLUMNS))

    @classmethod
    def from_tallies(cls, hosts: dict[tuple[str, str, str, str], HostTally],
                     folders: list[FolderTally], start: _dt.datetime | None,
                     end: _dt.datetime | None,
                     other_folders: list[dict[str, Any]] | None = None) -> LogFacts:
        host_rows = []
        daily_rows = []
        ordered = sorted(hosts.items(), key=lambda item: (item[0][0], item[0][1],
                                                          item[0][2].lower(),
                                                          _address_key(item[0][3])))
        for (server, log_type, connector, address), tally in ordered:
            names = tally.names
            host_rows.append({
                "server": server, "log_type": log_type, "connector": connector,
                "remote_address": address, "sessions": tally.sessions,
                "first_seen": _utc(tally.first_ms), "last_seen": _utc(tally.last_ms),
                "ehlo_names": sorted(names.get("ehlo", ())),
                "tls_sessions": tally.tls_sessions,
                "tls_versions": sorted(tls_version_name(v) for v in names.get("tls_version", ())),
                "authenticated_sessions": tally.authenticated_sessions,
                "anonymous_sessions": tally.sessions - tally.authenticated_sessions,
                "users": sorted(names.get("user", ())),
                "tried_users": sorted(names.get("tried_user", ())),
                "recipients_accepted": tally.accepted, "recipients_refused": tally.refused,
                "messages_queued": tally.queued, "tarpits": tally.tarpits,
                "logon_failures": tally.logon_failures,
            })
            for day, count in sorted(tally.per_day.items()):
                daily_rows.append({"server": server, "log_type": log_type,
                                   "connector": connector, "remote_address": address,
                                   "day": day, "sessions": count})
        coverage_rows = []
        malformed_rows = []
        for folder in folders:
            coverage_rows.append({
                "server": folder.server, "folder": folder.folder, "role": folder.role,
                "log_type": folder.log_type,
                "files": folder.files, "files_before_window": folder.files_before_window,
                "files_after_window": folder.files_after_window,
                "bytes": folder.bytes, "lines": folder.lines, "rows": folder.rows,
                "first_line": _utc(folder.first_ms), "last_line": _utc(folder.last_ms),
                "oldest_file": _utc(folder.oldest_file_ms),
                "newest_file": _utc(folder.newest_file_ms),
                "versions": sorted(folder.versions),
                "malformed_lines": folder.malformed_count,
                "duplicate_lines": folder.duplicates,
                "unreadable_files": [f"{where}: {why}" for where, why in folder.unreadable],
                "unrecognised_names": list(folder.unrecognised),
                "other_type_files": [f"{f.name}: {kind}" for f, kind in folder.other_type],
            })
            for line in folder.malformed:
                malformed_rows.append({"server": folder.server, "folder": folder.folder,
                                       "file": line.file, "line": line.line,
                                       "reason": line.reason, "text": line.text})
        return cls(
            hosts=pd.DataFrame(host_rows, columns=HOST_COLUMNS),
            daily=pd.DataFrame(daily_rows, columns=DAILY_COLUMNS),
            coverage=pd.DataFrame(coverage_rows, columns=COVERAGE_COLUMNS),
            malformed=pd.DataFrame(malformed_rows, columns=MALFORMED_COLUMNS),
            start=start, end=end,
            other_folders=pd.DataFrame(other_folders or [], columns=OTHER_FOLDER_COLUMNS),
        )

    def to_dict(self) -> dict[str, Any]:
        """The facts as plain JSON-serialisable values (times as ISO 8601 UTC)."""
        return {
            "period": {"start": iso_utc(self.start), "end": iso_utc(self.end)},
            "hosts": plain_records(self.hosts),
            "daily": plain_records(self.daily),
            "coverage": plain_records(self.coverage),
            "malformed": plain_records(self.malformed),
            "other_folders": plain_records(self.other_folders),
        }


def iso_utc(value: Any) -> Any:
    """A time as ISO 8601 UTC text (``2024-05-06T08:00:00.000Z``), a date as ISO text; any
    other value as it is, and a missing one as None."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, _dt.datetime):
        return value.astimezone(_dt.timezone.utc).isoformat(timespec="milliseconds") \
            .replace("+00:00", "Z")
    if isinstance(value, _dt.date):
        return value.isoformat()
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    if value is pd.NaT:
        return None
    return iso_utc(value)


def plain_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A table's rows as JSON-serialisable dicts: numpy values as Python ones, times as
    :func:`iso_utc` text, lists as lists."""
    return [{key: _plain(value) for key, value in row.items()}
            for row in frame.to_dict(orient="records")]


def read_facts(folders: Iterable[LogFolder], *, start: _dt.datetime | None = None,
               end: _dt.datetime | None = None, log_types: Iterable[str] = ("Receive",),
               workers: int | None = None) -> LogFacts:
    """Read log folders and return the facts per host and per folder.

    Args:
        folders: the log folders, each tagged with its server.
        start: leave out lines before this moment (UTC).
        end: leave out lines at or after this moment.
        log_types: ``Receive``, ``Send`` or both.
        workers: reading threads.
    """
    builder = FactsBuilder(start, end, workers=workers)
    log_types = tuple(log_types)
    for folder in folders:
        builder.add_folder(folder, log_types=log_types)
    return builder.facts()
