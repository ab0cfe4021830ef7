"""IP endpoints as protocol logs write them: ``10.20.1.5:50512`` or ``[fd00:20::25]:50512``.

An endpoint is split at its **last** colon, brackets are removed, and what remains must be an
IP address (reference: protocol logs, 8.14; pitfalls, 15). Splitting at the first colon would
cut an IPv6 address in pieces.
"""

from __future__ import annotations

import functools
import ipaddress

import pyarrow as pa
import pyarrow.compute as pc


@functools.lru_cache(maxsize=65536)
def normalize_address(text: str) -> str | None:
    """``text`` as a canonical address (IPv6 compressed, IPv4-mapped as IPv4), or None.

    Args:
        text: an address without port or brackets.
    """
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def split_endpoint(endpoint: str) -> tuple[str | None, int | None]:
    """``(address, port)`` of one endpoint; ``(None, None)`` when it is not a valid one.

    Args:
        endpoint: the text of a local-endpoint or remote-endpoint field.
    """
    host, colon, port = endpoint.strip().rpartition(":")
    if not colon or not (port.isascii() and port.isdigit() and len(port) <= 5):
        return None, None
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    address = normalize_address(host)
    return (address, int(port)) if address is not None else (None, None)


def address_column(endpoints: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, set[str]]:
    """The addresses of many endpoints at once, and the endpoints that are not valid.

    The text work runs in Arrow; only the distinct addresses (a few hundred hosts, not one
    per line) go through :mod:`ipaddress`.

    Args:
        endpoints: remote-endpoint values.

    Returns:
        An array of canonical addresses (null where the endpoint is empty or invalid), and
        the set of non-empty endpoint texts that are invalid.
    """
    endpoints = pa.chunked_array([endpoints]) if isinstance(endpoints, pa.Array) else endpoints
    endpoints = endpoints.combine_chunks() if endpoints.num_chunks else pa.array([], pa.string())
    # Everything after the last colon is the port: strip the digits, then the colon. A bracketed
    # IPv6 address loses its brackets. (Plain string kernels; a regular expression per row
    # costs several times more.)
    without_port = pc.utf8_rtrim(endpoints, characters="0123456789")
    has_port = pc.and_(pc.ends_with(without_port, ":"), pc.less_equal(
        pc.subtract(pc.utf8_length(endpoints), pc.utf8_length(without_port)), 6))
    hosts = pc.utf8_slice_codeunits(without_port, 0, -1)
    bracketed = pc.and_(pc.starts_with(hosts, "["), pc.ends_with(hosts, "]"))
    hosts = pc.if_else(bracketed, pc.utf8_slice_codeunits(hosts, 1, -1), hosts)

    distinct = pc.unique(hosts)
    canonical = [normalize_address(text) if text else None for text in distinct.to_pylist()]
    addresses = pc.take(pa.array(canonical, pa.string()), pc.index_in(hosts, distinct))
    bad_hosts = [text for text, value in zip(distinct.to_pylist(), canonical)
                 if text and value is None]
    bad = pc.or_(pc.is_in(hosts, pa.array(bad_hosts, pa.string())),
                 pc.and_(pc.invert(has_port), pc.not_equal(endpoints, "")))
    if not pc.any(bad).as_py():
        return addresses, set()
    invalid = set(pc.filter(endpoints, bad).to_pylist())
    return pc.if_else(bad, pa.scalar(None, pa.string()), addresses), invalid
