"""Exchange's own address types, parsed as strictly as Exchange parses them.

``IPRange`` (one RemoteIPRanges entry) and ``IPBinding`` (one Bindings entry) follow the parse
rules of the reference page, section 5.5. This module is the simulator's and deliberately
shares nothing with the library's lenient input parser: the simulator must reject what
Exchange rejects, so a bug in our normalising parser shows up as a failed call, not as two
pieces of code that agree with each other.

Nothing here trims, unquotes or repairs a value. ``" 10.0.0.1"`` is a malformed entry.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressParseError(ValueError):
    """A value that Exchange's parser would refuse.

    Args:
        identifier: Exchange's error identifier (reference section 10.1), used as the
            exception name of the error record.
        value: the value as it was given.
        problem: what is wrong, in a few words.
    """

    def __init__(self, identifier: str, value: str, problem: str) -> None:
        self.identifier = identifier
        self.value = value
        self.problem = problem
        super().__init__(f"{value!r}: {problem}")


def _address(text: str, value: str) -> IPAddress:
    # ipaddress refuses spaces, leading zeros and short IPv4 forms such as "10.1", which .NET
    # would read in surprising ways; refusing them is the strict reading we want here.
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise AddressParseError(
            "InvalidIPAddressFormat", value, f"{text!r} is not a valid IP address"
        ) from None


def _unscoped(address: IPAddress) -> IPAddress:
    """The address without an IPv6 zone index, for comparing bounds."""
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        return ipaddress.IPv6Address(int(address))
    return address


@dataclass(frozen=True)
class IPRange:
    """One RemoteIPRanges entry.

    Args:
        lower: the first address covered.
        upper: the last address covered.
        range_format: ``SingleAddress``, ``LoHi``, ``CIDR`` or ``Netmask``.
        display: the text Exchange shows for the entry (its ToString).
    """

    lower: IPAddress
    upper: IPAddress
    range_format: str
    display: str

    @property
    def bounds(self) -> tuple[int, int, int]:
        """What equality is decided on: the family and both bounds, never the text."""
        return (self.lower.version, int(self.lower), int(self.upper))

    @property
    def size(self) -> int:
        return int(self.upper) - int(self.lower) + 1

    def same_entry(self, other: IPRange) -> bool:
        return self.bounds == other.bounds

    def contains(self, other: IPRange) -> bool:
        return (
            self.lower.version == other.lower.version
            and int(self.lower) <= int(other.lower)
            and int(other.upper) <= int(self.upper)
        )

    def intersects(self, other: IPRange) -> bool:
        return (
            self.lower.version == other.lower.version
            and int(self.lower) <= int(other.upper)
            and int(other.lower) <= int(self.upper)
        )

    def partly_overlaps(self, other: IPRange) -> bool:
        """An intersection where neither range lies entirely inside the other (rule 5.6.6)."""
        return self.intersects(other) and not self.contains(other) and not other.contains(self)

    def __str__(self) -> str:
        return self.display


def first_clash(mine: list[IPRange], theirs: list[IPRange],
                *, identical_clashes: bool) -> tuple[IPRange, IPRange] | None:
    """The first pair (mine, theirs) that partly overlaps, or is identical when
    ``identical_clashes``; None when every pair is disjoint or one contains the other.

    Sorted bounds and a running maximum of upper bounds keep this near linear for the
    1,200-entry lists Exchange allows, instead of comparing every pair.
    """
    ordered = sorted(theirs, key=lambda r: (r.lower.version, int(r.lower)))
    keys = [(r.lower.version, int(r.lower)) for r in ordered]
    reach: list[tuple[int, int]] = []
    for r in ordered:
        top = (r.lower.version, int(r.upper))
        reach.append(max(reach[-1], top) if reach and reach[-1][0] == top[0] else top)
    for range_ in mine:
        version, low, high = range_.bounds
        index = bisect.bisect_right(keys, (version, high)) - 1
        while index >= 0 and reach[index][0] == version and reach[index][1] >= low:
            other = ordered[index]
            if range_.partly_overlaps(other) or (identical_clashes and range_.same_entry(other)):
                return range_, other
            index -= 1
    return None


def parse_ip_range(value: str) -> IPRange:
    """Parse one RemoteIPRanges value the way Exchange's IPRange type does.

    The separator is the first ``-``, ``/`` or ``(`` after the first character: none means a
    single address, ``-`` a low-high range, ``/`` CIDR, ``(`` an address and mask.

    Raises:
        AddressParseError: with one of ``InvalidIPAddressFormat``, ``InvalidIPRange``,
            ``AddressFamilyMismatch``, ``InvalidCIDRLength``, ``InvalidIPAddressMask`` or
            ``InvalidIPRangeFormat``.
    """
    if not isinstance(value, str) or not value:
        raise AddressParseError("InvalidIPRangeFormat", str(value), "not an IP range")
    match = re.search(r"[-/(]", value[1:])
    if match is None:
        address = _address(value, value)
        bound = _unscoped(address)
        return IPRange(bound, bound, "SingleAddress", str(address))

    cut = match.start() + 1
    start_text, separator, rest = value[:cut], value[cut], value[cut + 1:]
    start = _unscoped(_address(start_text, value))

    if separator == "-":
        end = _unscoped(_address(rest, value))
        if start.version != end.version:
            raise AddressParseError(
                "AddressFamilyMismatch", value, "the two ends are of different address families"
            )
        if int(start) > int(end):
            raise AddressParseError("InvalidIPRange", value, "the start is greater than the end")
        return IPRange(start, end, "LoHi", f"{start}-{end}")

    if separator == "/":
        if not re.fullmatch(r"[0-9]{1,3}", rest) or int(rest) > start.max_prefixlen:
            raise AddressParseError(
                "InvalidCIDRLength", value, f"{rest!r} is not a prefix length for this family"
            )
        network = ipaddress.ip_network(f"{start}/{rest}", strict=False)
        return IPRange(
            network.network_address,
            network.broadcast_address,
            "CIDR",
            f"{network.network_address}/{network.prefixlen}",
        )

    # "(": an address and a mask, as in 192.0.2.0(255.255.255.0)
    if not rest.endswith(")"):
        raise AddressParseError("InvalidIPRangeFormat", value, "a mask must end with ')'")
    mask = _address(rest[:-1], value)
    if mask.version != start.version:
        raise AddressParseError(
            "AddressFamilyMismatch", value, "the address and the mask are of different families"
        )
    bits = format(int(mask), f"0{mask.max_prefixlen}b")
    if "01" in bits:
        raise AddressParseError("InvalidIPAddressMask", value, f"{mask} is not a contiguous mask")
    network = ipaddress.ip_network(f"{start}/{bits.count('1')}", strict=False)
    return IPRange(
        network.network_address, network.broadcast_address, "Netmask",
        f"{network.network_address}({mask})",
    )


@dataclass(frozen=True)
class IPBinding:
    """One Bindings entry: a local address and a port.

    Args:
        address: the local address; ``0.0.0.0`` and ``::`` mean every address of the family.
        port: the TCP port.
    """

    address: IPAddress
    port: int

    @property
    def is_wildcard(self) -> bool:
        return int(self.address) == 0

    @property
    def display(self) -> str:
        if self.address.version == 6:
            return f"[{self.address}]:{self.port}"
        return f"{self.address}:{self.port}"

    def same(self, other: IPBinding) -> bool:
        return self == other

    def overlaps(self, other: IPBinding) -> bool:
        """Same family and port with a wildcard on either side (rule 5.6.1)."""
        return (
            self.address.version == other.address.version
            and self.port == other.port
            and (self.is_wildcard or other.is_wildcard)
        )

    def __str__(self) -> str:
        return self.display


def parse_ip_binding(value: str) -> IPBinding:
    """Parse one Bindings value: ``IPv4:port`` or ``[IPv6]:port``.

    Raises:
        AddressParseError: ``InvalidIPBindingFormat`` (the simulator's own identifier; no
            Exchange name is known) or ``InvalidIPAddressFormat``.
    """
    if not isinstance(value, str):
        raise AddressParseError("InvalidIPBindingFormat", str(value), "not an IP:port binding")
    match = re.fullmatch(r"\[([^\]]+)\]:([0-9]{1,5})|([^:\[\]]+):([0-9]{1,5})", value)
    if match is None:
        raise AddressParseError(
            "InvalidIPBindingFormat", value, "expected IPv4:port or [IPv6]:port"
        )
    if match.group(1) is not None:
        address, port = _address(match.group(1), value), int(match.group(2))
        if address.version != 6:
            raise AddressParseError(
                "InvalidIPBindingFormat", value, "brackets are only for IPv6 addresses"
            )
    else:
        address, port = _address(match.group(3), value), int(match.group(4))
    if not 1 <= port <= 65535:
        raise AddressParseError("InvalidIPBindingFormat", value, f"port {port} is out of range")
    return IPBinding(_unscoped(address), port)
