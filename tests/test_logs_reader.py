"""The protocol log reader on hand-written files, one quirk of real logs each."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from connector_runbooks.logs.endpoints import address_column, split_endpoint
from connector_runbooks.logs.reader import _careful, parse_log, read_log

FILES = Path(__file__).parent / "fixtures" / "logs" / "files"

BANNER = ("220 ex01.corp.example.com Microsoft ESMTP MAIL Service ready at Mon, 6 May 2024 "
          "10:15:02 +0200")


def rows(name: str) -> list[dict]:
    return read_log(FILES / name).table.to_pylist()


def test_a_full_session_gives_one_row_per_data_line_with_columns_from_the_fields_line():
    parsed = read_log(FILES / "relay-session.LOG")

    assert parsed.table.num_rows == 17
    assert parsed.malformed == []
    assert parsed.table.column_names[:3] == ["date-time", "connector-id", "session-id"]
    first = parsed.table.to_pylist()[0]
    assert first["date-time"] == dt.datetime(2024, 5, 6, 8, 15, 2, 121000, tzinfo=dt.timezone.utc)
    assert first["event"] == "+"
    assert first["remote-endpoint"] == "198.51.100.20:50512"


def test_a_quoted_banner_with_commas_stays_one_field():
    assert rows("relay-session.LOG")[1]["data"] == BANNER


def test_the_queued_reply_with_commas_in_quotes_is_read_whole():
    queued = rows("relay-session.LOG")[13]["data"]

    assert queued.startswith("250 2.6.0 <a1b2c3@ex01.corp.example.com> [InternalId=")
    assert queued.endswith("196.078 KB/sec Queued mail for delivery")


def test_the_double_space_after_250_in_the_ehlo_reply_is_kept():
    assert rows("relay-session.LOG")[3]["data"].startswith("250  ex01.corp.example.com Hello")


def test_a_clean_file_takes_the_fast_path():
    assert read_log(FILES / "relay-session.LOG").careful is False


def test_fast_and_careful_paths_give_the_same_rows():
    data = (FILES / "relay-session.LOG").read_bytes()

    fast = parse_log(data, "relay-session.LOG")
    careful = _careful(data, 0, "relay-session.LOG", tuple(fast.table.column_names))

    assert careful.table.to_pylist() == fast.table.to_pylist()


def test_a_byte_order_mark_is_not_part_of_the_first_header():
    parsed = read_log(FILES / "bom.LOG")

    assert parsed.table.num_rows == 3
    assert parsed.headers[0].software == "Microsoft Exchange Server"


def test_lf_line_ends_read_like_crlf():
    assert rows("lf.LOG") == rows("bom.LOG")


def test_a_last_line_without_line_end_is_read():
    parsed = read_log(FILES / "no-final-newline.LOG")

    assert parsed.table.num_rows == 3
    assert parsed.table.to_pylist()[-1]["data"] == "EHLO scanner01.example.net"
    assert parsed.malformed == []


def test_a_header_only_file_gives_no_rows_and_no_error():
    parsed = read_log(FILES / "header-only.LOG")

    assert parsed.table.num_rows == 0
    assert parsed.malformed == []
    assert parsed.log_type == "SMTP Receive Protocol Log"


def test_blank_lines_and_a_second_header_block_in_the_middle_are_skipped():
    parsed = read_log(FILES / "blank-lines.LOG")

    assert [r["sequence-number"] for r in parsed.table.to_pylist()] == ["0", "1", "2"]
    assert parsed.malformed == []
    assert [h.date for h in parsed.headers] == ["2024-05-06T08:15:02.100Z",
                                                "2024-05-06T08:20:00.000Z"]


def test_doubled_quotes_inside_a_quoted_field_become_one_quote():
    certificate = rows("quoted.LOG")[1]["data"]

    assert certificate == ' CN=ex01.corp.example.com, OU=IT, O="Example, Corp", C=CH'


def test_a_hash_inside_a_data_field_is_data():
    values = [r["data"] for r in rows("quoted.LOG")]

    assert values[0] == "MAIL FROM:<#billing@example.com>"
    assert values[2] == "RCPT TO:<team#7@example.org>"


def test_a_quoted_connector_name_with_a_comma_is_one_field():
    line = rows("quoted.LOG")[2]

    assert line["connector-id"] == "EX01\\Relay, Scanners"
    assert line["remote-endpoint"] == "198.51.100.21:50600"


def test_columns_follow_each_fields_line_not_fixed_positions():
    parsed = read_log(FILES / "fields-order.LOG")

    assert parsed.malformed == []
    assert [(r["session-id"], r["event"], r["remote-endpoint"]) for r in
            parsed.table.to_pylist()] == [("08DC6C1A2B3C4D61", "+", "198.51.100.22:50700"),
                                          ("08DC6C1A2B3C4D61", "<", "198.51.100.22:50700")]


def test_malformed_lines_are_reported_with_file_and_line_and_the_rest_is_read():
    parsed = read_log(FILES / "malformed.LOG")

    assert [r["sequence-number"] for r in parsed.table.to_pylist()] == ["0", "2", "5"]
    assert [(m.line, m.reason.split(" ")[0]) for m in parsed.malformed] == [
        (7, "a"), (9, "date-time"), (10, "remote-endpoint"), (12, "8")]
    assert all(m.file.endswith("malformed.LOG") for m in parsed.malformed)
    assert "not closed" in parsed.malformed[0].reason


def test_an_ipv6_endpoint_keeps_its_whole_address():
    parsed = read_log(FILES / "ipv6.LOG")

    assert parsed.malformed == []
    assert split_endpoint(parsed.table.to_pylist()[0]["remote-endpoint"]) == ("fd00:20::25", 50123)


@pytest.mark.parametrize(("endpoint", "expected"), [
    ("198.51.100.20:50512", ("198.51.100.20", 50512)),
    ("[fd00:20::25]:50123", ("fd00:20::25", 50123)),
    ("fd00:20::25:50123", ("fd00:20::25", 50123)),
    ("[::ffff:198.51.100.20]:25", ("198.51.100.20", 25)),
    ("scanner01:25", (None, None)),
    ("198.51.100.20", (None, None)),
    ("", (None, None)),
])
def test_endpoints_split_at_the_last_colon(endpoint, expected):
    assert split_endpoint(endpoint) == expected


def test_the_vectorised_split_agrees_with_the_single_one():
    import pyarrow as pa

    endpoints = ["198.51.100.20:50512", "[fd00:20::25]:50123", "scanner01:25", "",
                 "fd00:20::25:50123"]

    addresses, invalid = address_column(pa.array(endpoints))

    assert addresses.to_pylist() == ["198.51.100.20", "fd00:20::25", None, None, "fd00:20::25"]
    assert invalid == {"scanner01:25"}


def test_an_exchange_2010_log_is_read():
    parsed = read_log(Path(__file__).parent / "fixtures" / "logs" / "exchange2010" / "EX2010"
                      / "RECV20100315-1.log")

    assert parsed.headers[0].version == "14.0.0.0"
    assert parsed.table.num_rows == 11
    assert parsed.malformed == []


def test_a_send_log_with_empty_local_endpoints_is_read():
    parsed = read_log(Path(__file__).parent / "fixtures" / "logs" / "send" / "EX01"
                      / "SEND2024050608-1.LOG")

    assert parsed.log_type == "SMTP Send Protocol Log"
    assert parsed.table.num_rows == 7
    assert parsed.table.to_pylist()[0]["local-endpoint"] == ""
