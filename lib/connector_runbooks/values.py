"""Values as Exchange writes them in its records, read into Python types.

Exchange shows time spans as .NET ``TimeSpan`` text and sizes with their unit; these readers
turn that text into Python values once, for every part of the library that reasons about it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

#: ``[d.]hh:mm:ss[.fffffff]``: a .NET TimeSpan as Exchange displays it (``30.00:00:00``).
_TIMESPAN = re.compile(r"(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?")

#: The text Exchange shows for a limit that is switched off.
UNLIMITED = "unlimited"


def parse_timespan(value: Any) -> dt.timedelta | None:
    """An Exchange time span as a timedelta; ``Unlimited`` (or no value) as None.

    Args:
        value: ``[d.]hh:mm:ss[.fff]`` text as Exchange shows it, for example ``30.00:00:00``
            for thirty days or ``00:05:00.5000000``; ``Unlimited`` where a limit is off; a
            timedelta is returned as it is.

    Raises:
        ValueError: the text is neither a time span nor ``Unlimited``.
    """
    if value is None or isinstance(value, dt.timedelta):
        return value
    text = str(value).strip()
    if text.lower() == UNLIMITED:
        return None
    match = _TIMESPAN.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a time span such as 30.00:00:00 or Unlimited")
    days, hours, minutes, seconds, fraction = match.groups()
    if int(hours) > 23 or int(minutes) > 59 or int(seconds) > 59:
        raise ValueError(f"{text!r} is not a time span: hours go to 23, minutes and seconds "
                         f"to 59")
    # .NET writes up to seven fraction digits (100 ns ticks); Python keeps microseconds.
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    return dt.timedelta(days=int(days or 0), hours=int(hours), minutes=int(minutes),
                        seconds=int(seconds), microseconds=micro)
