"""Values as Exchange writes them: time spans."""

from __future__ import annotations

import datetime as dt

import pytest
from connector_runbooks.values import parse_timespan


@pytest.mark.parametrize(("text", "days", "seconds"), [
    ("30.00:00:00", 30, 0), ("7.12:00:00", 7, 43200), ("00:00:00", 0, 0), ("1:30:00", 0, 5400)])
def test_timespans_read_as_exchange_writes_them(text, days, seconds):
    span = parse_timespan(text)

    assert (span.days, span.seconds) == (days, seconds)


def test_the_seven_digit_fraction_of_a_timespan_is_kept_to_the_microsecond():
    assert parse_timespan("00:05:00.1234567") == dt.timedelta(minutes=5, microseconds=123456)


@pytest.mark.parametrize("text", ["Unlimited", "unlimited", " UNLIMITED "])
def test_unlimited_is_no_limit(text):
    assert parse_timespan(text) is None


@pytest.mark.parametrize("text", ["two days", "30 days", "1.24:00:00", "00:60:00", ""])
def test_text_that_is_no_timespan_is_refused(text):
    with pytest.raises(ValueError, match="not a time span"):
        parse_timespan(text)
