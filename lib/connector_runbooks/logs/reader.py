"""Reading one SMTP protocol log file into an Arrow table, and saying which lines were bad.

The rules (reference: protocol logs, sections 5 and 8):

- Columns come from the ``#Fields`` line, never from fixed positions. Every line that starts
  with ``#`` is a header line, wherever it is; a later ``#Fields`` line changes the columns
  for the lines after it.
- Fields are CSV: a field with a comma is quoted, a quote inside it is doubled. A ``#``
  inside a field is data.
- A UTF-8 byte order mark, CRLF or LF line ends, a missing final line end, blank lines and
  files with only header lines are all normal.
- A line that cannot be read (wrong number of fields, a quote never closed, a date-time that
  is not a UTC time, an unknown event, a remote endpoint that is not an IP address) is left
  out and reported with its file and line number. It never stops the reading.

Two paths give the same rows. The fast path hands the whole file to Arrow's CSV parser with
the columns of the first ``#Fields`` line and only the columns the review needs, and checks
afterwards that nothing odd happened: no row was rejected, no time failed to convert, every
line is accounted for. Any doubt sends the file to the careful path, which reads it line by
line with the :mod:`csv` module and knows every line's number. Real logs take the fast path
except for the odd file, such as the one Exchange is still writing.
"""

from __future__ import annotations

import csv
import datetime as _dt
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .endpoints import address_column, split_endpoint

logger = logging.getLogger(__name__)

#: The columns the review reads, by their ``#Fields`` names. The sequence number tells an
#: exact duplicate line from a second reply in the same millisecond.
COLUMNS = ("date-time", "connector-id", "session-id", "sequence-number", "remote-endpoint",
           "event", "data", "context")

#: Every column a protocol log has, for reading a file whole.
ALL_COLUMNS = ("date-time", "connector-id", "session-id", "sequence-number", "local-endpoint",
               "remote-endpoint", "event", "data", "context")

#: ``+`` connect, ``-`` disconnect, ``>`` sent, ``<`` received, ``*`` information.
EVENTS = ("+", "-", ">", "<", "*")

TIMESTAMP = pa.timestamp("ms", tz="UTC")

_BOM = b"\xef\xbb\xbf"
_EVENT_SET = pa.array(EVENTS)
_BLOCK_SIZE = 16 << 20
_TEXT_LIMIT = 300


@dataclass(frozen=True)
class MalformedLine:
    """A line that was left out, and why.

    Args:
        file: the file's name or path as the log source gives it.
        line: the 1-based line number in the file, counting header and blank lines.
        reason: what is wrong with it.
        text: the line, shortened to a few hundred characters.
    """

    file: str
    line: int
    reason: str
    text: str

    def __str__(self) -> str:
        return f"{self.file}, line {self.line}: {self.reason}"


@dataclass
class LogHeader:
    """The header lines of one block: ``#Software``, ``#Version``, ``#Log-type``, ``#Date``.

    Args:
        line: where the block's first header line is.
        fields: the column names of the ``#Fields`` line, when the block has one.
    """

    line: int
    software: str | None = None
    version: str | None = None
    log_type: str | None = None
    date: str | None = None
    fields: tuple[str, ...] | None = None

    def take(self, text: str) -> None:
        """Record one header line (starting with ``#``)."""
        key, _, value = text[1:].partition(":")
        key = key.strip().lower()
        value = value.strip()
        if key == "fields":
            self.fields = tuple(name.strip() for name in next(csv.reader([value])))
        elif key == "software":
            self.software = value
        elif key == "version":
            self.version = value
        elif key == "log-type":
            self.log_type = value
        elif key == "date":
            self.date = value


@dataclass
class ParsedLog:
    """The readable rows of one log file.

    Args:
        name: the file's name or path.
        table: one row per good data line, the columns asked for, ``date-time`` as a UTC
            timestamp and the others as text (empty fields as empty strings).
        malformed: the lines left out.
        headers: the header blocks, in file order.
        lines: how many lines the file has, all kinds counted.
        size: the file's size in bytes.
        careful: whether the line-by-line path read it.
    """

    name: str
    table: pa.Table
    malformed: list[MalformedLine] = field(default_factory=list)
    headers: list[LogHeader] = field(default_factory=list)
    lines: int = 0
    size: int = 0
    careful: bool = False

    @property
    def log_type(self) -> str | None:
        """``SMTP Receive Protocol Log`` or ``SMTP Send Protocol Log``, from the header."""
        return next((h.log_type for h in self.headers if h.log_type), None)


def empty_table(columns: tuple[str, ...] = COLUMNS) -> pa.Table:
    """A table with the reader's columns and no rows."""
    return pa.table({name: pa.array([], TIMESTAMP if name == "date-time" else pa.string())
                     for name in columns})


def parse_log(data: bytes, name: str, *, columns: tuple[str, ...] = COLUMNS,
              check_endpoints: bool = True, careful: bool = False) -> ParsedLog:
    """Read the rows of one protocol log file.

    Args:
        data: the file's bytes, exactly as stored.
        name: the file's name or path, used in reports of malformed lines.
        columns: the columns to return; ``date-time`` is always among them.
        check_endpoints: check every remote endpoint here. The facts builder turns this off
            because it checks the endpoints of whole sessions anyway, and reads a file again
            with ``careful`` when one is wrong.
        careful: read line by line even when the fast path would do.
    """
    columns = tuple(dict.fromkeys(("date-time", *columns)))
    start = len(_BOM) if data.startswith(_BOM) else 0
    parsed = None if careful else _fast(data, start, name, columns, check_endpoints)
    if parsed is None:
        logger.debug("%s: reading line by line", name)
        parsed = _careful(data, start, name, columns)
    parsed.size = len(data)
    return parsed


def read_log(path: str | Path, *, columns: tuple[str, ...] = ALL_COLUMNS) -> ParsedLog:
    """Read a protocol log file from disk; by default with every column.

    Args:
        path: the file.
        columns: the columns to return.
    """
    return parse_log(Path(path).read_bytes(), str(path), columns=columns)


# ---------------------------------------------------------------------------------------------
# The fast path


def _line_count(data: bytes, start: int) -> int:
    body = np.frombuffer(data, np.uint8, offset=start)
    count = int(np.count_nonzero(body == 10))
    return count + (1 if len(body) and body[-1] != 10 else 0)


def _blank_line_count(data: bytes, start: int) -> int:
    count = data.count(b"\n\n", start) + data.count(b"\n\r\n", start)
    if data.startswith(b"\n", start) or data.startswith(b"\r\n", start):
        count += 1
    return count


def _fast(data: bytes, start: int, name: str, columns: tuple[str, ...],
          check_endpoints: bool = True) -> ParsedLog | None:
    """The file read by Arrow in one go, or None when anything needs a closer look."""
    header = LogHeader(line=1)
    position = start
    header_lines = 0
    while data.startswith(b"#", position):
        end = data.find(b"\n", position)
        end = len(data) if end < 0 else end
        header.take(data[position:end].decode("utf-8", "replace").rstrip("\r"))
        header_lines += 1
        position = end + 1
    fields = header.fields
    if fields is None or len(set(fields)) != len(fields):
        return None
    if any(column not in fields for column in columns):
        return None

    rejected: list[object] = []

    def on_invalid(row: object) -> str:
        rejected.append(row)
        return "skip"

    try:
        table = pacsv.read_csv(
            pa.py_buffer(memoryview(data)[position:]),
            read_options=pacsv.ReadOptions(column_names=list(fields), use_threads=False,
                                           block_size=_BLOCK_SIZE),
            parse_options=pacsv.ParseOptions(invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                include_columns=list(columns),
                column_types={column: pa.string() for column in columns},
                strings_can_be_null=False),
        )
        # Read as text and converted in one go: cheaper than the CSV reader's conversion,
        # and a time that is not a UTC time fails the same way.
        table = table.set_column(table.schema.get_field_index("date-time"), "date-time",
                                 pc.cast(table["date-time"], TIMESTAMP))
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeDecodeError):
        return None
    if rejected:
        return None

    # A quote left open swallows the following lines without complaint; so does anything
    # else that makes Arrow see fewer rows than there are lines. Count to be sure.
    lines = _line_count(data, start)
    if lines != header_lines + table.num_rows:
        if lines != header_lines + table.num_rows + _blank_line_count(data, start):
            return None
    if table.num_rows and not pc.all(pc.is_in(table.column("event"), _EVENT_SET)).as_py():
        return None
    if check_endpoints and "remote-endpoint" in columns and table.num_rows:
        # Only the distinct endpoints (about one per session) are looked at.
        _, invalid = address_column(pc.unique(table.column("remote-endpoint")))
        if invalid:
            return None
    return ParsedLog(name, table.select(list(columns)), headers=[header], lines=lines)


# ---------------------------------------------------------------------------------------------
# The careful path


def parse_timestamp(text: str) -> int | None:
    """A log date-time as milliseconds since 1970 UTC, or None when it is not one.

    Args:
        text: for example ``2024-05-06T08:15:02.121Z``; a time without a zone is refused,
            because the log writes UTC and a bare time could be anything.
    """
    try:
        value = _dt.datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if value.tzinfo is None:
        return None
    delta = value - _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
    return delta // _dt.timedelta(milliseconds=1)


def _split_fields(line: str) -> tuple[list[str] | None, str | None]:
    try:
        return next(csv.reader([line], strict=True)), None
    except csv.Error as error:
        if "unexpected end of data" in str(error):
            return None, "a quoted field is not closed"
        # A stray character after a closing quote: read it leniently, as Arrow does.
        return next(csv.reader([line])), None


def _careful(data: bytes, start: int, name: str, columns: tuple[str, ...]) -> ParsedLog:
    """The file read line by line, every line accounted for."""
    body = data[start:]
    raw_lines = body.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()

    values: dict[str, list] = {column: [] for column in columns}
    malformed: list[MalformedLine] = []
    headers: list[LogHeader] = []
    fields: tuple[str, ...] | None = None
    problem_with_fields: str | None = None
    in_header = False

    def bad(number: int, reason: str, text: str) -> None:
        malformed.append(MalformedLine(name, number, reason, text[:_TEXT_LIMIT]))

    for number, raw in enumerate(raw_lines, 1):
        # A byte order mark can also start a line in the middle, where files were joined.
        line = raw.decode("utf-8", "replace").lstrip("\ufeff")
        if line.endswith("\r"):
            line = line[:-1]
        if not line.strip():
            continue
        if line.startswith("#"):
            if not in_header:
                headers.append(LogHeader(line=number))
                in_header = True
            headers[-1].take(line)
            if line[1:].lower().startswith("fields:"):
                fields = headers[-1].fields
                # Only the columns the review needs are required; others read as empty.
                missing = [c for c in columns
                           if c in COLUMNS and fields is not None and c not in fields]
                problem_with_fields = (f"the #Fields line above it has no {', '.join(missing)}"
                                       if missing else None)
            continue
        in_header = False

        if fields is None:
            bad(number, "data line before any #Fields line", line)
            continue
        if problem_with_fields:
            bad(number, problem_with_fields, line)
            continue
        split, problem = _split_fields(line)
        if split is None:
            bad(number, problem or "unreadable", line)
            continue
        if len(split) != len(fields):
            bad(number, f"{len(split)} fields where the #Fields line names {len(fields)}", line)
            continue
        record = dict(zip(fields, split))
        when = parse_timestamp(record["date-time"])
        if when is None:
            bad(number, f"date-time {record['date-time']!r} is not a UTC time", line)
            continue
        event = record.get("event")
        if event is not None and event not in EVENTS:
            bad(number, f"event {event!r} is not one of {' '.join(EVENTS)}", line)
            continue
        remote = record.get("remote-endpoint", "")
        if remote and split_endpoint(remote)[0] is None:
            bad(number, f"remote-endpoint {remote!r} is not an IP address and port", line)
            continue
        for column in columns:
            values[column].append(when if column == "date-time" else record.get(column, ""))

    arrays = {column: pa.array(values[column],
                               TIMESTAMP if column == "date-time" else pa.string())
              for column in columns}
    return ParsedLog(name, pa.table(arrays), malformed=malformed, headers=headers,
                     lines=len(raw_lines), careful=True)
