"""RemoteIPRanges entries: lenient input, Exchange's canonical form, comparison and risk checks.

A receive connector's RemoteIPRanges holds entries in four forms: a single address, a low-high
range, a CIDR block and an address with a mask. Exchange treats two entries as the same when
their bounds are equal, whatever the form, and shows each entry in a canonical display text.
This module turns what an administrator pasted (from a web page, a spreadsheet, a file saved
in the wrong encoding) into those entries, compares them with a connector's current list the
way Exchange does, and names the risks of a change before anything is sent.

It is part of the domain core: it uses the standard library (``ipaddress`` for the addresses)
and our error types, and imports no transport.
"""

from __future__ import annotations

import bisect
import codecs
import ipaddress
import logging
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from connector_runbooks.errors import InputError, InputErrors

logger = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_REMOTE_IP_RANGES = 1200
"""Entries the simulated organization accepts on one connector; Exchange fails near 1,200-1,300."""

ACCEPTED = (
    "a single address (10.0.0.5), a range (10.0.0.5-10.0.0.9), CIDR (10.0.0.0/24) "
    "or address(mask)"
)

FORMS = ("SingleAddress", "LoHi", "CIDR", "Netmask")


@dataclass(frozen=True, eq=False)
class IPRangeEntry:
    """One RemoteIPRanges entry, as Exchange stores it.

    Equality and hashing use the bounds only (and the IPv6 zone index, which is part of an
    address), never the form or the text: ``10.0.0.0/30`` and ``10.0.0.0-10.0.0.3`` are the
    same entry, as they are to Exchange.

    Args:
        first: the lowest address of the entry (Exchange's LowerBound).
        last: the highest address, of the same family (Exchange's UpperBound).
        form: how the entry was written, with Exchange's RangeFormat names: ``SingleAddress``,
            ``LoHi``, ``CIDR`` or ``Netmask``.
        text: Exchange's display text for the entry, for example ``10.0.0.0/24`` (the network
            address, not the host that was typed) or ``10.0.0.1-10.0.0.9``.
    """

    first: IPAddress
    last: IPAddress
    form: str
    text: str

    def __post_init__(self) -> None:
        if self.first.version != self.last.version:
            raise ValueError(f"{self.first} and {self.last} are of different families")
        if int(self.first) > int(self.last):
            raise ValueError(f"{self.first} is after {self.last}")
        if self.form not in FORMS:
            raise ValueError(f"unknown range format {self.form!r}; expected one of {FORMS}")

    @classmethod
    def from_bounds(cls, first: IPAddress, last: IPAddress) -> IPRangeEntry:
        """The entry covering ``first`` to ``last``: a single address when they are equal.

        Args:
            first: the lowest address.
            last: the highest address, same family.
        """
        if first == last:
            return cls(first, last, "SingleAddress", _display(first))
        return cls(first, last, "LoHi", f"{_display(first)}-{_display(last)}")

    @property
    def version(self) -> int:
        """4 or 6."""
        return self.first.version

    @property
    def zone(self) -> str:
        """The IPv6 zone index (``11`` in ``fe80::1%11``), or an empty string."""
        return getattr(self.first, "scope_id", None) or ""

    @property
    def size(self) -> int:
        """The number of addresses the entry covers (Exchange's Size)."""
        return int(self.last) - int(self.first) + 1

    @property
    def key(self) -> tuple[int, int, int, str]:
        """What identifies the entry: family, bounds as integers, zone. Also a sort key."""
        return (self.version, int(self.first), int(self.last), self.zone)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IPRangeEntry):
            return NotImplemented
        return self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __lt__(self, other: IPRangeEntry) -> bool:
        return self.key < other.key

    def __str__(self) -> str:
        return self.text

    def _same_space(self, other: IPRangeEntry) -> bool:
        # Different families, or different IPv6 zones (links), never share an address.
        return self.version == other.version and self.zone == other.zone

    def contains(self, other: IPRangeEntry) -> bool:
        """Whether every address of ``other`` is inside this entry (an equal entry counts)."""
        return (
            self._same_space(other)
            and int(self.first) <= int(other.first)
            and int(other.last) <= int(self.last)
        )

    def overlaps(self, other: IPRangeEntry) -> bool:
        """Whether the two entries share at least one address."""
        return (
            self._same_space(other)
            and int(self.first) <= int(other.last)
            and int(other.first) <= int(self.last)
        )

    def partially_overlaps(self, other: IPRangeEntry) -> bool:
        """Whether the entries intersect while neither lies inside the other.

        This is the overlap Exchange refuses between connectors with the same binding; one
        entry wholly inside another is allowed (the most specific one wins).
        """
        return self.overlaps(other) and not self.contains(other) and not other.contains(self)

    def contains_address(self, address: IPAddress | str) -> bool:
        """Whether ``address`` (an address object or its text) is inside this entry."""
        if isinstance(address, str):
            address = ipaddress.ip_address(address.strip())
        point = IPRangeEntry(address, address, "SingleAddress", str(address))
        return self.contains(point)


@dataclass(frozen=True)
class SourcedEntry:
    """An entry together with where the user gave it, so messages can point back to it.

    Args:
        entry: the parsed entry.
        raw: the token exactly as given, before normalisation.
        source: where it came from: ``parameter add_ranges`` or a file path.
        line: the line number in a file or multi-line text, the position in a list, or None
            for a single value.
    """

    entry: IPRangeEntry
    raw: str
    source: str
    line: int | None

    @property
    def where(self) -> str:
        """``source, line N``, or just the source when there is no line."""
        return f"{self.source}, line {self.line}" if self.line is not None else self.source

    def __str__(self) -> str:
        return self.entry.text


# --- normalising pasted text -------------------------------------------------------------

# Characters that word processors, web pages and chat tools put into copied addresses.
_QUOTES = "'\"`\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u2032\u2033\u00ab\u00bb\u2039\u203a"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
# Invisible characters that are not whitespace to str.split() but break an address.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad"

_TRANSLATION = str.maketrans(
    {**{c: None for c in _QUOTES + _INVISIBLE}, **{c: "-" for c in _DASHES}}
)
_WHITESPACE = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    """Turn one pasted entry into plain ASCII text an address parser can read.

    Quotes (straight, curly, primes, backticks) are dropped; en and em dashes, the minus sign
    and similar dashes become ``-``; non-breaking and zero-width spaces and a byte-order mark
    are dropped; full-width forms become their ASCII equivalents; and every space is removed,
    because no entry contains one: ``10.0. 0.13`` becomes ``10.0.0.13`` and
    ``10.0.0.1 - 10.0.0.9`` becomes ``10.0.0.1-10.0.0.9``.

    Args:
        text: one entry as typed or pasted.
    """
    # NFKC folds full-width digits, dots and colons and turns NBSP variants into spaces.
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(_TRANSLATION)
    return _WHITESPACE.sub("", text)


# --- parsing one entry ---------------------------------------------------------------------

_ADDRESS_AND_PORT = re.compile(r"^\d{1,3}(\.\d{1,3}){3}:\d+$")
# "192.0.2.1 192.0.2.2": two entries where a separator was forgotten, not a stray space.
_SPACE_BETWEEN_DIGITS = re.compile(r"[0-9a-fA-F]\s+[0-9a-fA-F]")


class _Rejected(Exception):
    """A problem with one entry; the caller turns it into an InputError with its context."""


def _display(address: IPAddress) -> str:
    # .NET writes IPv4-mapped IPv6 addresses with a dotted tail; Python 3.11 writes hex.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        zone = f"%{address.scope_id}" if address.scope_id else ""
        return f"::ffff:{address.ipv4_mapped}{zone}"
    return str(address)


def _address(text: str) -> IPAddress:
    if not text:
        raise _Rejected("an address is missing")
    if _ADDRESS_AND_PORT.match(text):
        raise _Rejected(f"{text!r} looks like address:port; remote IP ranges take no port")
    try:
        if ":" in text:
            return ipaddress.IPv6Address(text)
        return ipaddress.IPv4Address(text)
    except ValueError as error:
        raise _Rejected(f"{text!r} is not an IPv4 or IPv6 address ({error})") from None


def _with_zone(value: int, like: IPAddress) -> IPAddress:
    if isinstance(like, ipaddress.IPv6Address):
        plain = ipaddress.IPv6Address(value)
        return ipaddress.IPv6Address(f"{plain}%{like.scope_id}") if like.scope_id else plain
    return ipaddress.IPv4Address(value)


def _family_name(address: IPAddress) -> str:
    return f"IPv{address.version}"


def _parse(text: str) -> IPRangeEntry:
    """Parse one entry already free of typography, following Exchange's separator rule."""
    if not text:
        raise _Rejected("the value is empty")

    # Exchange's rule: the first '-', '/' or '(' after the first character separates the parts.
    match = re.search(r"[-/(]", text[1:])
    if match is None:
        address = _address(text)
        return IPRangeEntry(address, address, "SingleAddress", _display(address))

    at = match.start() + 1
    head, separator, tail = text[:at], text[at], text[at + 1 :]
    start = _address(head)
    bits = start.max_prefixlen
    all_ones = (1 << bits) - 1

    if separator == "-":
        end = _address(tail)
        if start.version != end.version:
            raise _Rejected(
                f"mixes {_family_name(start)} and {_family_name(end)} ({start} and {end}); "
                "a range must stay within one family"
            )
        if int(start) > int(end):
            raise _Rejected(f"the start {start} is after the end {end}")
        return IPRangeEntry(start, end, "LoHi", f"{_display(start)}-{_display(end)}")

    if separator == "/":
        if not tail.isdigit() or not tail.isascii():
            raise _Rejected(f"prefix length {tail!r} is not a number (0 to {bits} for "
                            f"{_family_name(start)})")
        length = int(tail)
        if length > bits:
            raise _Rejected(
                f"prefix length /{length} is not valid for {_family_name(start)} (0 to {bits})"
            )
        mask = (all_ones << (bits - length)) & all_ones
        first = _with_zone(int(start) & mask, start)
        last = _with_zone(int(first) | (all_ones ^ mask), start)
        return IPRangeEntry(first, last, "CIDR", f"{_display(first)}/{length}")

    # separator == "(": address(mask)
    if not tail.endswith(")"):
        raise _Rejected("an address(mask) entry must end with ')'")
    mask_text = tail[:-1]
    mask_address = _address(mask_text)
    if mask_address.version != start.version:
        raise _Rejected(
            f"mixes {_family_name(start)} and {_family_name(mask_address)} "
            f"({start} and mask {mask_address}); the mask must be of the address's family"
        )
    mask = int(mask_address)
    host_bits = all_ones ^ mask
    # A contiguous mask is ones then zeros, so its host part is 2**n - 1.
    if host_bits & (host_bits + 1):
        raise _Rejected(f"the mask {mask_address} is not contiguous (its one bits must come "
                        "first, as in 255.255.255.0)")
    first = _with_zone(int(start) & mask, start)
    last = _with_zone(int(first) | host_bits, start)
    return IPRangeEntry(first, last, "Netmask", f"{_display(first)}({_display(mask_address)})")


def parse_entry(text: str, *, source: str = "input", line: int | None = None) -> IPRangeEntry:
    """Parse one entry as a user typed or pasted it.

    The text is normalised first (see :func:`normalize_text`), then read in one of the four
    forms: ``10.0.0.5``, ``10.0.0.5-10.0.0.9``, ``10.0.0.0/24`` (host bits allowed; the entry
    starts at the network address) and ``10.0.0.0(255.255.255.0)``. IPv6 works the same way,
    including a zone index such as ``fe80::1%11``.

    Args:
        text: the entry as given.
        source: where it came from, for the error message.
        line: its line number in ``source``, for the error message.

    Raises:
        InputError: naming the original text, the problem and what would be accepted.
    """
    normalized = normalize_text(text)
    try:
        return _parse(normalized)
    except _Rejected as rejected:
        problem = str(rejected)
        if _SPACE_BETWEEN_DIGITS.search(text):
            problem += "; if these are several entries, separate them with commas or line breaks"
        raise InputError(text, problem, source=source, line=line, accepted=ACCEPTED) from None


def from_exchange(text: str) -> IPRangeEntry:
    """Parse a RemoteIPRanges display string read back from Exchange, such as ``10.0.0.0/24``.

    Args:
        text: one element of the property as Exchange shows it.

    Raises:
        InputError: when the text is in none of Exchange's forms (source ``Exchange``).
    """
    try:
        return _parse(text.strip())
    except _Rejected as rejected:
        raise InputError(text, str(rejected), source="Exchange", accepted=ACCEPTED) from None


# --- parsing lists, text and files --------------------------------------------------------

_SEPARATORS = re.compile(r"[,;\uff0c\uff1b\u060c]")


def _tokens(text: str) -> Iterable[tuple[int, str]]:
    """Yield (1-based line number, token) for every non-blank, non-comment token in ``text``."""
    # splitlines() knows CRLF, CR, LF and the Unicode line and paragraph separators.
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.split("#", 1)[0]
        for token in _SEPARATORS.split(content):
            if normalize_text(token):
                yield number, token.strip()


def _parse_tokens(tokens: Iterable[tuple[int | None, object]], source: str) -> list[SourcedEntry]:
    """Parse every token, then raise one InputErrors naming all that failed, if any did."""
    entries: list[SourcedEntry] = []
    errors: list[InputError] = []
    for line, token in tokens:
        if not isinstance(token, str):
            errors.append(InputError(token, "is not text", source=source, line=line,
                                     accepted=ACCEPTED))
            continue
        try:
            entry = parse_entry(token, source=source, line=line)
        except InputError as error:
            errors.append(error)
            continue
        entries.append(SourcedEntry(entry, token, source, line))
    if errors:
        raise InputErrors(errors)
    return entries


_ADDRESS_OBJECTS = (
    ipaddress.IPv4Address, ipaddress.IPv6Address, ipaddress.IPv4Network, ipaddress.IPv6Network
)


def _list_tokens(elements: Iterable[object]) -> Iterable[tuple[int, object]]:
    """Yield (position from 1, token) for each element of a list, split like a string."""
    for index, element in enumerate(elements, start=1):
        # Address and network objects from a notebook are as good as their text.
        if isinstance(element, _ADDRESS_OBJECTS):
            element = str(element)
        if isinstance(element, str):
            yield from ((index, token) for _, token in _tokens(element))
        else:
            yield index, element


def parse_entries(
    value: str | Iterable[str] | None, *, source: str = "input"
) -> list[SourcedEntry]:
    """Parse every entry in a parameter value, reporting every bad token at once.

    A string is split on commas, semicolons and line breaks, so
    ``"192.0.2.1-192.0.2.9, 192.0.2.20"`` is two entries (Exchange would take it as one invalid
    value). Each element of a list is split the same way. Blank tokens and ``#`` comments,
    whole-line or trailing, are skipped.

    Args:
        value: the parameter: None, one string, or a list of strings.
        source: the name to show in messages, for example ``parameter add_ranges``.

    Returns:
        The entries in the order given. Line numbers are the line in a multi-line string, the
        position (from 1) in a list, and None for a one-line string.

    Raises:
        InputErrors: listing every token that could not be read.
    """
    if value is None:
        return []

    tokens: Iterable[tuple[int | None, object]]
    if isinstance(value, str):
        # A one-line parameter has no line to point to; a multi-line one (YAML block) does.
        multi_line = len(value.splitlines()) > 1
        tokens = [(number if multi_line else None, token) for number, token in _tokens(value)]
    elif isinstance(value, Iterable):
        tokens = _list_tokens(value)
    else:
        # YAML reads `add: 5` as a number; say what is wrong instead of failing on it
        raise InputErrors([InputError(value, "is not an entry or a list of entries",
                                      source=source, accepted=ACCEPTED)])

    entries = _parse_tokens(tokens, source)
    logger.debug("read %d entries from %s", len(entries), source)
    return entries


def read_entries_file(path: str | os.PathLike[str]) -> list[SourcedEntry]:
    """Read the entries in a text file: one or more per line, with comments and blank lines.

    The file may be UTF-8 with or without a byte-order mark, or UTF-16 with one. A file that
    is not valid UTF-8 is read as Windows-1252 (Notepad's old default), with a warning, so
    smart quotes saved by an older editor still come through as quotes and are cleaned up.

    Args:
        path: the file to read.

    Raises:
        InputErrors: listing every bad token with the file path and its line number.
        OSError: when the file cannot be read.
    """
    source = str(path)
    data = Path(path).read_bytes()
    try:
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            # Windows PowerShell 5.1, where the Exchange Management Shell runs, writes
            # UTF-16 with `>` and Out-File by default
            text = data.decode("utf-16")
        else:
            text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        logger.warning(
            "%s is not valid UTF-8 (%s); reading it as Windows-1252", source, error.reason
        )
        text = data.decode("cp1252", errors="replace")

    entries = _parse_tokens(_tokens(text), source)
    logger.info("read %d entries from %s", len(entries), source)
    return entries


# --- comparing a request with the current list ---------------------------------------------


@dataclass
class Comparison:
    """How requested entries relate to a connector's current RemoteIPRanges.

    Args:
        duplicates: requested entries equal to an existing entry, with that entry; adding them
            changes nothing.
        contained: requested entries inside a wider existing entry, with the narrowest such
            entry; adding them is allowed but usually unnecessary.
        partial_overlaps: requested entries that partly overlap an existing entry, one pair
            per existing entry concerned.
        repeated_in_request: second and later occurrences of the same entry in the request.
        new: requested entries not yet on the connector (first occurrences only).
    """

    duplicates: list[tuple[SourcedEntry, IPRangeEntry]] = field(default_factory=list)
    contained: list[tuple[SourcedEntry, IPRangeEntry]] = field(default_factory=list)
    partial_overlaps: list[tuple[SourcedEntry, IPRangeEntry]] = field(default_factory=list)
    repeated_in_request: list[SourcedEntry] = field(default_factory=list)
    new: list[SourcedEntry] = field(default_factory=list)


class RangeIndex:
    """Entries sorted by start, to find those that overlap an entry without a full scan.

    A connector can hold 1,200 entries and a request as many, so comparing every pair costs
    seconds; here each lookup visits only entries that start before the entry ends and, thanks
    to the running maximum of ends, stops as soon as no earlier entry can reach it.

    Args:
        entries: the entries to look in, for example a connector's current list.
    """

    def __init__(self, entries: Iterable[IPRangeEntry]) -> None:
        spaces: dict[tuple[int, str], list[IPRangeEntry]] = {}
        for entry in entries:
            spaces.setdefault((entry.version, entry.zone), []).append(entry)
        self._spaces = {}
        for space, members in spaces.items():
            members.sort()
            ends, reach = [], -1
            for member in members:
                reach = max(reach, int(member.last))
                ends.append(reach)
            self._spaces[space] = (members, [int(m.first) for m in members], ends)

    def overlapping(self, entry: IPRangeEntry) -> list[IPRangeEntry]:
        """The indexed entries sharing at least one address with ``entry``, sorted."""
        members, starts, reach = self._spaces.get((entry.version, entry.zone), ([], [], []))
        low, high = int(entry.first), int(entry.last)
        found = []
        for i in range(bisect.bisect_right(starts, high) - 1, -1, -1):
            if reach[i] < low:
                break
            if int(members[i].last) >= low:
                found.append(members[i])
        found.reverse()
        return found


def compare(existing: Iterable[IPRangeEntry], requested: Iterable[SourcedEntry]) -> Comparison:
    """Compare requested entries with existing ones by their bounds, as Exchange does.

    Comparison is exact: an existing ``192.0.2.10`` does not make ``192.0.2.1`` a duplicate.

    Args:
        existing: the connector's current entries.
        requested: the entries the user asked to add.
    """
    current = list(existing)
    by_key = {entry.key: entry for entry in current}
    index = RangeIndex(current)
    result = Comparison()
    seen: set[tuple[int, int, int, str]] = set()

    for sourced in requested:
        entry = sourced.entry
        if entry.key in seen:
            result.repeated_in_request.append(sourced)
            continue
        seen.add(entry.key)

        if entry.key in by_key:
            result.duplicates.append((sourced, by_key[entry.key]))
            continue
        result.new.append(sourced)

        overlapping = index.overlapping(entry)
        wider = [other for other in overlapping if other.contains(entry)]
        if wider:
            result.contained.append((sourced, min(wider, key=lambda other: other.size)))
        result.partial_overlaps.extend(
            (sourced, other) for other in overlapping if entry.partially_overlaps(other)
        )
    return result


# --- risks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Risk:
    """A reason to stop and think before putting an entry on a relay connector.

    Args:
        kind: ``all-addresses``, ``public``, ``wide`` or ``contains-exchange-server``.
        entry: the entry concerned.
        message: a sentence naming the entry and why it is risky.
    """

    kind: str
    entry: IPRangeEntry
    message: str

    def __str__(self) -> str:
        return self.message


def _blocks(*cidrs: str) -> list[tuple[int, int]]:
    return [
        (int(n.network_address), int(n.broadcast_address))
        for n in (ipaddress.ip_network(c) for c in cidrs)
    ]


def _subtract(blocks: list[tuple[int, int]], holes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, disjoint intervals covering ``blocks`` minus ``holes``."""
    result = []
    for low, high in sorted(blocks):
        pieces = [(low, high)]
        for hole_low, hole_high in holes:
            cut = []
            for a, b in pieces:
                if hole_high < a or b < hole_low:
                    cut.append((a, b))
                    continue
                if a < hole_low:
                    cut.append((a, hole_low - 1))
                if hole_high < b:
                    cut.append((hole_high + 1, b))
            pieces = cut
        result.extend(pieces)
    return sorted(result)


# Address space that is not reachable from the Internet, from IANA's special-purpose registries
# (the same blocks Python's ipaddress treats as not global). Multicast and the reserved 240/4
# cannot be the source of an SMTP session either, so they are not public for our purpose.
_NOT_PUBLIC_V4 = _subtract(
    _blocks(
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
        "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15",
        "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    ),
    _blocks("192.0.0.9/32", "192.0.0.10/32"),
)

# IPv6 unicast on the Internet is 2000::/3; within it, these blocks are special-purpose.
_PUBLIC_V6 = _subtract(
    _blocks("2000::/3"),
    _subtract(
        _blocks("2001::/23", "2001:db8::/32", "2002::/16", "3fff::/20"),
        _blocks("2001:1::1/128", "2001:1::2/128", "2001:3::/32", "2001:4:112::/48",
                "2001:20::/28", "2001:30::/28"),
    ),
)
# Prefixes that carry an IPv4 address in their last 32 bits: IPv4-mapped (an IPv4 client seen
# through a dual-stack socket) and the NAT64 well-known prefix. They are as public as that address.
_IPV4_CARRIERS = _blocks("::ffff:0:0/96", "64:ff9b::/96")


def _first_uncovered(low: int, high: int, covered: list[tuple[int, int]]) -> int | None:
    """The first integer in [low, high] outside the sorted disjoint ``covered``, or None."""
    point = low
    for a, b in covered:
        if b < point:
            continue
        if a > point:
            break
        point = b + 1
        if point > high:
            return None
    return point if point <= high else None


def _first_public(entry: IPRangeEntry) -> IPAddress | None:
    """The first publicly routable address in ``entry``, or None when it has none."""
    low, high = int(entry.first), int(entry.last)
    if entry.version == 4:
        found = _first_uncovered(low, high, _NOT_PUBLIC_V4)
        return None if found is None else ipaddress.IPv4Address(found)

    for base, end in _IPV4_CARRIERS:
        carried_low, carried_high = max(low, base), min(high, end)
        if carried_low <= carried_high:
            found = _first_uncovered(carried_low - base, carried_high - base, _NOT_PUBLIC_V4)
            if found is not None:
                return ipaddress.IPv6Address(base + found)
    for a, b in _PUBLIC_V6:
        if a <= high and low <= b:
            return ipaddress.IPv6Address(max(a, low))
    return None


def _count(number: int) -> str:
    """An address count a person can read: 65,536, or 2^80 for IPv6-sized numbers."""
    if number < 10**10:
        return f"{number:,}"
    exponent = number.bit_length() - 1
    return f"2^{exponent}" if number == 1 << exponent else f"more than 2^{exponent}"


def _server_addresses(
    exchange_servers: Mapping[str, Iterable[str]],
) -> list[tuple[str, IPAddress]]:
    found = []
    for server, addresses in exchange_servers.items():
        if isinstance(addresses, str):
            addresses = [addresses]
        for text in addresses:
            try:
                found.append((server, ipaddress.ip_address(text.strip())))
            except ValueError:
                raise InputError(
                    text, "is not an IP address", source=f"addresses of Exchange server {server}"
                ) from None
    return found


def risks(
    entries: Iterable[IPRangeEntry],
    *,
    exchange_servers: Mapping[str, Iterable[str]] | None = None,
    wide_ipv4_prefix: int = 16,
    wide_ipv6_prefix: int = 48,
) -> list[Risk]:
    """Name the entries that would open a relay connector too far, or capture Exchange traffic.

    Kinds, per entry, in this order:

    - ``all-addresses``: the entry covers a whole family (``0.0.0.0-255.255.255.255``); such an
      entry is not also reported as public or wide, which it obviously is.
    - ``public``: some address in the entry is reachable from the Internet; documentation,
      private, shared, loopback, link-local, multicast and reserved space are not public.
    - ``wide``: the entry holds more addresses than a /16 (IPv4) or /48 (IPv6) network.
    - ``contains-exchange-server``: the entry contains an address of an Exchange server, whose
      SMTP sessions would then land on this connector instead of the default one (pitfall 6).

    Args:
        entries: the entries to check, usually those requested.
        exchange_servers: server name to the addresses of that server.
        wide_ipv4_prefix: an IPv4 entry larger than a network of this prefix length is wide.
        wide_ipv6_prefix: the same for IPv6.
    """
    servers = _server_addresses(exchange_servers or {})
    limits = {4: 2 ** (32 - wide_ipv4_prefix), 6: 2 ** (128 - wide_ipv6_prefix)}
    prefixes = {4: wide_ipv4_prefix, 6: wide_ipv6_prefix}
    found: list[Risk] = []

    for entry in entries:
        family = f"IPv{entry.version}"
        if entry.size == 2 ** entry.first.max_prefixlen:
            found.append(Risk("all-addresses", entry,
                              f"{entry} covers every {family} address: any host anywhere could "
                              "use this connector"))
        else:
            public = _first_public(entry)
            if public is not None:
                found.append(Risk("public", entry,
                                  f"{entry} includes publicly routable addresses (for example "
                                  f"{_display(public)}): hosts on the Internet would be allowed"))
            if entry.size > limits[entry.version]:
                found.append(Risk("wide", entry,
                                  f"{entry} holds {_count(entry.size)} addresses, more than a "
                                  f"/{prefixes[entry.version]} network "
                                  f"({_count(limits[entry.version])})"))

        for server, address in servers:
            if entry.contains_address(address):
                found.append(Risk("contains-exchange-server", entry,
                                  f"{entry} contains {_display(address)}, an address of Exchange "
                                  f"server {server}: its SMTP sessions would match this "
                                  "connector and lose Exchange Server authentication"))
    return found


# --- fewer entries for the entry limit -----------------------------------------------------


def merge_suggestions(
    entries: Iterable[IPRangeEntry],
) -> list[tuple[list[IPRangeEntry], IPRangeEntry]]:
    """Runs of adjacent or overlapping entries that one entry could replace.

    A connector holds about 1,200 entries (:data:`MAX_REMOTE_IP_RANGES`); merging runs such as
    ``192.0.2.1`` ... ``192.0.2.6`` into ``192.0.2.1-192.0.2.6`` covers exactly the same
    addresses with fewer entries.

    Args:
        entries: the entries to examine, in any order.

    Returns:
        For each run of two or more entries, the run (sorted) and the entry covering it.
    """
    suggestions: list[tuple[list[IPRangeEntry], IPRangeEntry]] = []
    run: list[IPRangeEntry] = []
    run_last = -1

    def close_run() -> None:
        if len(run) > 1:
            first = min(run, key=lambda e: int(e.first)).first
            last = _with_zone(run_last, first)
            suggestions.append((list(run), IPRangeEntry.from_bounds(first, last)))

    for entry in sorted(entries):
        continues = (
            run
            and run[0].version == entry.version
            and run[0].zone == entry.zone
            and int(entry.first) <= run_last + 1
        )
        if continues:
            run.append(entry)
            run_last = max(run_last, int(entry.last))
            continue
        close_run()
        run = [entry]
        run_last = int(entry.last)
    close_run()
    return suggestions
