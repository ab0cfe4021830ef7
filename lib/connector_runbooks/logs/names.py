"""Protocol log file names: which files are logs, of which kind, in which order.

Exchange names its protocol log files in two ways (reference: protocol logs, section 4):
``RECVyyyymmdd-N.log`` (documented, and Exchange 2010) and ``RECVyyyymmddhh-N.LOG``
(2013 and later, with the UTC hour). Send logs start with ``SEND``. ``N`` counts the files
of one day or hour, from 1, as each reaches its size limit. The order of the files is the
date (and hour) in the name, then ``N``; modification times are never used, because copying
the files changes them.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass

_NAME = re.compile(r"^(RECV|SEND)(\d{4})(\d{2})(\d{2})(\d{2})?-(\d+)\.LOG$", re.IGNORECASE)

#: The log type each name prefix stands for, as ``#Log-type`` words it.
LOG_TYPES = {"RECV": "Receive", "SEND": "Send"}


@dataclass(frozen=True, order=True)
class LogFileName:
    """What a protocol log file's name says.

    Ordering sorts by log type, then the time in the name, then the number, the order in
    which Exchange wrote the files.

    Args:
        log_type: ``Receive`` or ``Send``.
        started: the UTC date (and hour, when the name has one) the file was started.
        number: ``N``, counting the files started in the same day or hour.
        has_hour: whether the name carries the hour (2013 and later) or only the date.
        name: the file name as found.
    """

    log_type: str
    started: _dt.datetime
    number: int
    has_hour: bool
    name: str


def parse_log_file_name(name: str) -> LogFileName | None:
    """The facts in ``name``, or None when it is not a protocol log file name.

    Args:
        name: a file name without folders, for example ``RECV2024050608-1.LOG``.
    """
    match = _NAME.match(name)
    if match is None:
        return None
    prefix, year, month, day, hour, number = match.groups()
    try:
        started = _dt.datetime(int(year), int(month), int(day), int(hour or 0),
                               tzinfo=_dt.timezone.utc)
    except ValueError:
        return None
    return LogFileName(LOG_TYPES[prefix.upper()], started, int(number), hour is not None, name)


def is_log_file_name(name: str) -> bool:
    """Whether ``name`` looks like a protocol log (right prefix and extension), valid or not."""
    upper = name.upper()
    return upper.endswith(".LOG") and upper[:4] in LOG_TYPES
