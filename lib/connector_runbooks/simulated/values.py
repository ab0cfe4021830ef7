"""Scalar value types of Exchange as the simulator stores and shows them.

Sizes are stored as bytes and shown as ``36 MB (37,748,736 bytes)``; flags are stored as lists
of names and shown in enum order as one comma-and-space string; time spans are shown as
``[d.]hh:mm:ss``. The display forms are the wire shapes of reference section 9.3.
"""

from __future__ import annotations

import datetime as dt
import re

# Flag enums in the order of their bits, which is the order Exchange displays them in (5.3).
AUTH_MECHANISMS = ("Tls", "Integrated", "BasicAuth", "BasicAuthRequireTLS", "ExchangeServer",
                   "ExternalAuthoritative")
PERMISSION_GROUPS = ("AnonymousUsers", "ExchangeUsers", "ExchangeServers", "ExchangeLegacyServers",
                     "Partners", "Custom")
ERROR_POLICIES = ("DowngradeDnsFailures", "DowngradeCustomFailures", "UpgradeCustomFailures")

_UNITS = (("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10), ("B", 1))


def format_size(size: int | None) -> str:
    """``37748736`` → ``36 MB (37,748,736 bytes)``; ``None`` (unlimited) → ``Unlimited``.

    The unit is the largest one the value reaches; the number keeps up to three decimals, as
    ByteQuantifiedSize prints it (``9.766 MB (10,240,000 bytes)``).
    """
    if size is None:
        return "Unlimited"
    for unit, factor in _UNITS:
        if size >= factor or unit == "B":
            amount = f"{size / factor:.3f}".rstrip("0").rstrip(".")
            return f"{amount} {unit} ({size:,} bytes)"
    raise AssertionError("unreachable")


_SIZE_INPUT = re.compile(
    r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(B|KB|MB|GB|TB)?\s*(?:\(\s*([0-9,]+)\s*bytes\s*\))?\s*$", re.I
)


def parse_size(value: object, *, allow_unlimited: bool) -> int | None:
    """A size parameter value as bytes; ``None`` stands for ``Unlimited``.

    Accepts an integer (bytes), ``36MB``, ``36 MB``, the display form, and ``Unlimited``
    where the property allows it.

    Raises:
        ValueError: the text is no size, or Unlimited where it is not allowed.
    """
    if isinstance(value, bool):
        raise ValueError("a Boolean is not a size")
    if isinstance(value, int):
        return value
    text = str(value)
    if text.strip().lower() == "unlimited":
        if allow_unlimited:
            return None
        raise ValueError("this property cannot be Unlimited")
    match = _SIZE_INPUT.match(text)
    if match is None:
        raise ValueError(f"'{text}' is not a valid size")
    if match.group(3):
        return int(match.group(3).replace(",", ""))
    factor = dict(_UNITS)[(match.group(2) or "B").upper()]
    return int(float(match.group(1)) * factor)


def format_timespan(seconds: int) -> str:
    """``172800`` → ``2.00:00:00``; ``600`` → ``00:10:00``."""
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}.{clock}" if days else clock


def parse_timespan(value: object) -> int:
    """``[d.]hh:mm:ss`` (or an integer of seconds) → seconds.

    Raises:
        ValueError: the text is no time span.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = re.fullmatch(r"(?:([0-9]+)\.)?([0-9]{1,2}):([0-9]{2}):([0-9]{2})", str(value))
    if match is None:
        raise ValueError(f"'{value}' is not a time span ([d.]hh:mm:ss)")
    days, hours, minutes, secs = (int(g or 0) for g in match.groups())
    if hours > 23 or minutes > 59 or secs > 59:
        raise ValueError(f"'{value}' is not a time span ([d.]hh:mm:ss)")
    return ((days * 24 + hours) * 60 + minutes) * 60 + secs


def format_flags(names: list[str], order: tuple[str, ...]) -> str:
    """Stored flag names → ``Tls, Integrated`` in enum order; an empty set → ``None``."""
    chosen = [name for name in order if name in set(names)]
    return ", ".join(chosen) if chosen else "None"


def parse_flags(value: object, order: tuple[str, ...], *, keep_none: bool = False) -> list[str]:
    """A flags parameter value (one string with commas, or a list) → names in enum order.

    ``None`` is the empty set; letter case is ignored, as PowerShell ignores it. With
    ``keep_none``, a ``None`` given together with other names is kept at the front, so that a
    rule such as "AuthMechanism None excludes every other value" can refuse it.

    Raises:
        ValueError: with the offending name, when a name is not in the enum.
    """
    items = value if isinstance(value, (list, tuple)) else [value]
    canonical = {name.lower(): name for name in order}
    chosen: set[str] = set()
    none_given = False
    for item in items:
        for part in str(item).split(","):
            name = part.strip()
            if name.lower() == "none":
                none_given = True
                continue
            if name.lower() not in canonical:
                raise ValueError(name)
            chosen.add(canonical[name.lower()])
    names = [name for name in order if name in chosen]
    return ["None"] + names if keep_none and none_given and names else names


_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def is_fqdn(text: str) -> bool:
    """A host name per RFC 1035 (letters, digits, hyphens; dot-separated labels)."""
    if not isinstance(text, str) or not text or len(text) > 255 or text.endswith(".."):
        return False
    labels = text[:-1].split(".") if text.endswith(".") else text.split(".")
    return all(_LABEL.fullmatch(label) for label in labels)


def format_datetime(moment: dt.datetime) -> str:
    """A time as Exchange writes it inside text such as LastError: ``5/6/2024 8:15:42 AM``."""
    hour = moment.hour % 12 or 12
    suffix = "AM" if moment.hour < 12 else "PM"
    return f"{moment.month}/{moment.day}/{moment.year} {hour}:{moment:%M:%S} {suffix}"


def parse_iso(text: str) -> dt.datetime:
    """A stored ISO-8601 time as an aware UTC datetime."""
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
