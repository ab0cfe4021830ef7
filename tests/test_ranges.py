"""RemoteIPRanges input: forms, display text, equality, files, comparison, risks, merging."""

from __future__ import annotations

import ast
import ipaddress
import logging
from pathlib import Path

import pytest
from connector_runbooks.errors import InputError, InputErrors
from connector_runbooks.ranges import (
    MAX_REMOTE_IP_RANGES,
    IPRangeEntry,
    RangeIndex,
    compare,
    from_exchange,
    merge_suggestions,
    normalize_text,
    parse_entries,
    parse_entry,
    read_entries_file,
    risks,
)

FIXTURES = Path(__file__).parent / "fixtures" / "ranges"


def entries(*texts: str) -> list[IPRangeEntry]:
    return [parse_entry(text) for text in texts]


def texts(sourced) -> list[str]:
    return [s.entry.text for s in sourced]


# --- forms and display text ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "form", "display", "size"),
    [
        ("192.0.2.5", "SingleAddress", "192.0.2.5", 1),
        ("192.0.2.1-192.0.2.9", "LoHi", "192.0.2.1-192.0.2.9", 9),
        ("192.0.2.0/24", "CIDR", "192.0.2.0/24", 256),
        ("192.0.2.0(255.255.255.0)", "Netmask", "192.0.2.0(255.255.255.0)", 256),
        ("2001:db8::10", "SingleAddress", "2001:db8::10", 1),
        ("2001:db8::1-2001:db8::ff", "LoHi", "2001:db8::1-2001:db8::ff", 255),
        ("2001:db8::/48", "CIDR", "2001:db8::/48", 2**80),
        ("2001:db8::(ffff:ffff:ffff::)", "Netmask", "2001:db8::(ffff:ffff:ffff::)", 2**80),
        ("::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "LoHi",
         "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 2**128),
    ],
)
def test_each_input_form_gets_exchanges_format_and_display_text(typed, form, display, size):
    entry = parse_entry(typed)

    assert (entry.form, entry.text, str(entry), entry.size) == (form, display, display, size)


def test_cidr_with_host_bits_displays_as_its_network():
    entry = parse_entry("192.0.2.77/24")

    assert entry.text == "192.0.2.0/24"
    assert (str(entry.first), str(entry.last)) == ("192.0.2.0", "192.0.2.255")


def test_address_and_mask_with_host_bits_starts_at_the_network():
    assert parse_entry("192.0.2.77(255.255.255.128)").text == "192.0.2.0(255.255.255.128)"


def test_ipv6_zone_index_is_kept_as_typed():
    entry = parse_entry("fe80::1%11")

    assert entry.text == "fe80::1%11"
    assert entry.zone == "11"
    assert entry != parse_entry("fe80::1")


def test_ipv4_mapped_ipv6_displays_with_a_dotted_tail_like_dotnet():
    assert parse_entry("::ffff:192.0.2.1").text == "::ffff:192.0.2.1"


# --- equality -----------------------------------------------------------------------------


def test_cidr_and_lohi_with_equal_bounds_are_one_entry():
    cidr, lohi = entries("10.0.0.0/30", "10.0.0.0-10.0.0.3")

    assert cidr == lohi
    assert hash(cidr) == hash(lohi)
    assert len({cidr, lohi}) == 1


def test_equal_bounds_in_different_families_are_different_entries():
    assert parse_entry("0.0.0.1") != parse_entry("::1")


def test_from_exchange_reads_back_every_display_text():
    for typed in ["192.0.2.5", "192.0.2.1-192.0.2.9", "192.0.2.7/24", "192.0.2.0(255.255.0.0)",
                  "2001:db8::/48", "fe80::1%11"]:
        entry = parse_entry(typed)
        again = from_exchange(entry.text)

        assert (again, again.form, again.text) == (entry, entry.form, entry.text)


def test_from_exchange_rejects_text_in_no_form():
    with pytest.raises(InputError) as caught:
        from_exchange("192.0.2.300")

    assert caught.value.source == "Exchange"


# --- containment and overlap ----------------------------------------------------------------


def test_containment_and_partial_overlap_follow_the_bounds():
    wide, inner, straddling, elsewhere = entries(
        "192.0.2.0/24", "192.0.2.10-192.0.2.20", "192.0.2.200-192.0.3.5", "198.51.100.1"
    )

    assert wide.contains(inner) and not inner.contains(wide)
    assert wide.overlaps(inner) and not wide.partially_overlaps(inner)
    assert wide.partially_overlaps(straddling) and straddling.partially_overlaps(wide)
    assert not wide.overlaps(elsewhere)


def test_contains_address_takes_text_or_address_objects():
    entry = parse_entry("192.0.2.0/24")

    assert entry.contains_address("192.0.2.5")
    assert not entry.contains_address(parse_entry("192.0.3.5").first)


# --- normalising pasted text ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("pasted", "clean"),
    [
        ("\u201c192.0.2.5\u201d", "192.0.2.5"),
        ("\u2018192.0.2.5\u2019", "192.0.2.5"),
        ("`192.0.2.5'", "192.0.2.5"),
        ("192.0.2.5\u2013192.0.2.9", "192.0.2.5-192.0.2.9"),
        ("192.0.2.5\u2014192.0.2.9", "192.0.2.5-192.0.2.9"),
        ("192.0.2.5\u2212192.0.2.9", "192.0.2.5-192.0.2.9"),
        ("192.0.2.5\u2012192.0.2.9", "192.0.2.5-192.0.2.9"),
        ("\u00a0192.0.2.5\u202f", "192.0.2.5"),
        ("\ufeff192.0.\u200b2.5", "192.0.2.5"),
        ("10.0. 0.13", "10.0.0.13"),
        ("10.0.0.1 - 10.0.0.9", "10.0.0.1-10.0.0.9"),
        ("\uff11\uff10.0.0.1", "10.0.0.1"),
    ],
)
def test_normalize_text_turns_pasted_typography_into_ascii(pasted, clean):
    assert normalize_text(pasted) == clean


def test_error_shows_the_value_as_the_user_typed_it():
    with pytest.raises(InputError) as caught:
        parse_entry("\u201c192.0.2.300\u201d")

    assert caught.value.value == "\u201c192.0.2.300\u201d"


# --- rejected entries ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("192.0.2.9-192.0.2.1", "the start 192.0.2.9 is after the end 192.0.2.1"),
        ("192.0.2.1-2001:db8::1", "mixes IPv4 and IPv6"),
        ("2001:db8::/129", "prefix length /129 is not valid for IPv6 (0 to 128)"),
        ("192.0.2.0/33", "prefix length /33 is not valid for IPv4 (0 to 32)"),
        ("192.0.2.0/abc", "is not a number"),
        ("192.0.2.0(255.0.255.0)", "the mask 255.0.255.0 is not contiguous"),
        ("192.0.2.0(ffff::)", "mixes IPv4 and IPv6"),
        ("192.0.2.0(255.255.255.0", "must end with ')'"),
        ("192.0.2.300", "is not an IPv4 or IPv6 address"),
        ("printer-01", "is not an IPv4 or IPv6 address"),
        ("192.0.2.5:25", "looks like address:port"),
    ],
)
def test_invalid_entries_are_rejected_with_a_precise_problem(typed, problem):
    with pytest.raises(InputError) as caught:
        parse_entry(typed, source="parameter add_ranges")

    assert problem in caught.value.problem
    assert caught.value.source == "parameter add_ranges"
    assert "CIDR (10.0.0.0/24)" in caught.value.accepted


def test_two_addresses_separated_by_a_space_get_a_hint_to_use_a_comma():
    with pytest.raises(InputError) as caught:
        parse_entry("192.0.2.1 192.0.2.2")

    assert "separate them with commas" in caught.value.problem


# --- lists and multi-line text --------------------------------------------------------------


def test_one_string_with_a_comma_is_two_entries():
    parsed = parse_entries("192.0.2.1-192.0.2.9, 192.0.2.20", source="parameter add_ranges")

    assert texts(parsed) == ["192.0.2.1-192.0.2.9", "192.0.2.20"]
    assert [p.raw for p in parsed] == ["192.0.2.1-192.0.2.9", "192.0.2.20"]
    assert {(p.source, p.line) for p in parsed} == {("parameter add_ranges", None)}


def test_semicolons_and_each_kind_of_line_break_separate_entries():
    parsed = parse_entries("192.0.2.1;192.0.2.2\r\n192.0.2.3\r192.0.2.4\n192.0.2.5")

    assert texts(parsed) == [f"192.0.2.{n}" for n in range(1, 6)]
    assert [p.line for p in parsed] == [1, 1, 2, 3, 4]


def test_list_elements_are_split_too_and_numbered_by_position():
    parsed = parse_entries(["192.0.2.1", "192.0.2.2, 192.0.2.3"])

    assert texts(parsed) == ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
    assert [p.line for p in parsed] == [1, 2, 2]


def test_address_objects_in_a_list_are_taken_as_their_text():
    parsed = parse_entries([ipaddress.ip_network("192.0.2.0/24"), ipaddress.ip_address("::1")])

    assert texts(parsed) == ["192.0.2.0/24", "::1"]


def test_a_list_element_that_is_not_text_is_reported_with_its_position():
    with pytest.raises(InputErrors) as caught:
        parse_entries(["192.0.2.1", 5], source="parameter add_ranges")

    assert [(e.value, e.line) for e in caught.value.errors] == [(5, 2)]


def test_blank_tokens_and_comments_are_skipped():
    parsed = parse_entries("# printers\n\n192.0.2.1 # lobby\n , ;\n#192.0.2.99\n")

    assert texts(parsed) == ["192.0.2.1"]


def test_nothing_given_is_no_entries():
    assert parse_entries(None) == []
    assert parse_entries("") == []
    assert parse_entries([]) == []


def test_every_bad_token_is_reported_at_once():
    with pytest.raises(InputErrors) as caught:
        parse_entries("192.0.2.1\nbad\n192.0.2.3\n192.0.2.9-192.0.2.1", source="parameter x")

    assert [(e.value, e.line) for e in caught.value.errors] == [
        ("bad", 2), ("192.0.2.9-192.0.2.1", 4)
    ]


# --- files ---------------------------------------------------------------------------------

# The bytes are spelled out so that no editor can turn the typography into plain ASCII.
MESSY_FILE = (
    b"\xef\xbb\xbf# relay hosts for the print room\r\n"        # BOM, comment, CRLF
    b"\xe2\x80\x9c192.0.2.5\xe2\x80\x9d\r\n"                   # "192.0.2.5" in curly quotes
    b"\r\n"                                                    # blank line
    b"192.0.2.10\xe2\x80\x93192.0.2.19\r\n"                   # en dash
    b"10.0. 0.13   # scanner, typed with a stray space\r\n"   # space inside, trailing comment
    b"\xc2\xa0198.51.100.0/24, 203.0.113.7\r\n"               # NBSP, two entries on one line
    b"   \r\n"
)


def test_messy_file_parses_to_the_entries_meant(tmp_path):
    path = tmp_path / "relay.txt"
    path.write_bytes(MESSY_FILE)

    parsed = read_entries_file(path)

    assert texts(parsed) == [
        "192.0.2.5", "192.0.2.10-192.0.2.19", "10.0.0.13", "198.51.100.0/24", "203.0.113.7"
    ]
    assert [p.line for p in parsed] == [2, 4, 5, 6, 6]
    assert {p.source for p in parsed} == {str(path)}


def test_file_with_an_invalid_line_names_the_file_and_line(tmp_path):
    path = tmp_path / "relay.txt"
    path.write_bytes(b"192.0.2.1\n\n192.0.2.256\n192.0.2.3\n")

    with pytest.raises(InputErrors) as caught:
        read_entries_file(path)

    [error] = caught.value.errors
    assert (error.source, error.line, error.value) == (str(path), 3, "192.0.2.256")
    assert f"{path}, line 3" in str(caught.value)


def test_windows_1252_file_is_read_with_a_warning(tmp_path, caplog):
    path = tmp_path / "legacy.txt"
    path.write_bytes(b"\x93192.0.2.5\x94\r\n192.0.2.6\x96192.0.2.9\r\n")  # cp1252 quotes, dash

    with caplog.at_level(logging.WARNING, logger="connector_runbooks.ranges"):
        parsed = read_entries_file(path)

    assert texts(parsed) == ["192.0.2.5", "192.0.2.6-192.0.2.9"]
    assert "Windows-1252" in caplog.text


def test_fixture_file_in_the_repository_parses():
    parsed = read_entries_file(FIXTURES / "relay-hosts.txt")

    assert texts(parsed) == ["192.0.2.20", "192.0.2.21", "192.0.2.30-192.0.2.39", "198.51.100.0/26"]


# --- comparing with the connector's current list ------------------------------------------


def test_an_existing_longer_address_does_not_make_a_shorter_one_a_duplicate():
    existing = entries("192.0.2.10", "198.51.100.2")
    requested = parse_entries(["192.0.2.1", "192.0.2.2", " 192.0.2.3 "])

    result = compare(existing, requested)

    assert result.duplicates == []
    assert texts(result.new) == ["192.0.2.1", "192.0.2.2", "192.0.2.3"]


def test_compare_finds_duplicates_by_bounds_not_text():
    existing = entries("10.0.0.0-10.0.0.3")
    [requested] = parse_entries("10.0.0.0/30")

    result = compare(existing, [requested])

    assert result.duplicates == [(requested, existing[0])]
    assert result.new == []


def test_compare_names_the_narrowest_existing_entry_that_contains_a_request():
    existing = entries("0.0.0.0-255.255.255.255", "192.0.2.0/24")
    [requested] = parse_entries("192.0.2.10")

    result = compare(existing, [requested])

    assert result.contained == [(requested, existing[1])]


def test_compare_finds_partial_overlaps():
    existing = entries("192.0.2.0/25", "192.0.2.200")
    [requested] = parse_entries("192.0.2.100-192.0.2.150")

    result = compare(existing, [requested])

    assert result.partial_overlaps == [(requested, existing[0])]
    assert result.contained == []


def test_compare_finds_overlaps_in_any_order_of_existing_entries():
    existing = entries("192.0.2.128/25", "0.0.0.0-255.255.255.255", "192.0.2.0-192.0.2.60")
    [requested] = parse_entries("192.0.2.50-192.0.2.130")

    result = compare(existing, [requested])

    assert [other.text for _, other in result.partial_overlaps] == [
        "192.0.2.0-192.0.2.60", "192.0.2.128/25"
    ]
    assert [other.text for _, other in result.contained] == ["0.0.0.0-255.255.255.255"]


def test_range_index_finds_every_overlapping_entry_and_nothing_else():
    index = RangeIndex(entries("0.0.0.0/0", "192.0.2.0/26", "192.0.2.64/26", "192.0.2.200",
                               "2001:db8::/32"))

    assert [e.text for e in index.overlapping(parse_entry("192.0.2.60-192.0.2.70"))] == [
        "0.0.0.0/0", "192.0.2.0/26", "192.0.2.64/26"
    ]


def test_compare_reports_an_entry_repeated_in_the_request_once():
    requested = parse_entries("192.0.2.0/30\n192.0.2.0-192.0.2.3")

    result = compare([], requested)

    assert result.repeated_in_request == [requested[1]]
    assert result.new == [requested[0]]


# --- risks ---------------------------------------------------------------------------------


def kinds(found) -> list[tuple[str, str]]:
    return [(r.kind, r.entry.text) for r in found]


@pytest.mark.parametrize(
    "text", ["0.0.0.0-255.255.255.255", "::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "0.0.0.0/0"]
)
def test_an_entry_covering_a_whole_family_is_all_addresses(text):
    assert kinds(risks(entries(text))) == [("all-addresses", text)]


def test_a_range_with_internet_addresses_is_public():
    [risk] = risks(entries("8.8.8.0/24"))

    assert risk.kind == "public"
    assert "8.8.8.0/24" in risk.message


def test_a_range_that_reaches_past_documentation_space_is_public():
    assert kinds(risks(entries("203.0.113.250-203.0.114.5"))) == [
        ("public", "203.0.113.250-203.0.114.5")
    ]


@pytest.mark.parametrize(
    "text", ["10.1.2.0/24", "192.0.2.0/24", "100.64.0.1", "fe80::1%11", "2001:db8::/64", "fd00::1"]
)
def test_private_and_documentation_ranges_are_not_public(text):
    assert risks(entries(text)) == []


def test_public_ipv6_and_ipv4_carrying_ranges_are_public():
    assert kinds(risks(entries("2606:4700::/48", "::ffff:8.8.8.8", "64:ff9b::8.8.8.8"))) == [
        ("public", "2606:4700::/48"), ("public", "::ffff:8.8.8.8"), ("public", "64:ff9b::808:808")
    ]


def test_a_range_larger_than_a_slash_16_is_wide():
    found = risks(entries("10.0.0.0/15", "10.2.0.0/16"))

    assert kinds(found) == [("wide", "10.0.0.0/15")]
    assert found[0].message == (
        "10.0.0.0/15 holds 131,072 addresses, more than a /16 network (65,536)"
    )


def test_the_wide_threshold_can_be_changed():
    assert kinds(risks(entries("10.2.0.0/16"), wide_ipv4_prefix=20)) == [("wide", "10.2.0.0/16")]


def test_an_ipv6_range_larger_than_a_slash_48_is_wide():
    [risk] = risks(entries("2001:db8::/47"))

    assert risk.kind == "wide"
    assert risk.message == "2001:db8::/47 holds 2^81 addresses, more than a /48 network (2^80)"


def test_a_range_containing_an_exchange_server_names_server_and_address():
    found = risks(entries("192.0.2.0/24"), exchange_servers={"EX03": ["198.51.100.3", "192.0.2.5"]})

    [risk] = found
    assert risk.kind == "contains-exchange-server"
    assert "EX03" in risk.message and "192.0.2.5" in risk.message


def test_a_bad_server_address_is_an_input_error_not_a_silent_pass():
    with pytest.raises(InputError):
        risks(entries("192.0.2.0/24"), exchange_servers={"EX03": ["not-an-address"]})


# --- merge suggestions and the entry limit ------------------------------------------------


def test_a_run_of_single_addresses_can_become_one_range():
    singles = entries(*[f"192.0.2.{n}" for n in (6, 1, 2, 3, 4, 5)], "192.0.2.9")

    [(run, merged)] = merge_suggestions(singles)

    assert [e.text for e in run] == [f"192.0.2.{n}" for n in range(1, 7)]
    assert (merged.form, merged.text) == ("LoHi", "192.0.2.1-192.0.2.6")


def test_overlapping_entries_merge_into_their_union():
    [(_, merged)] = merge_suggestions(entries("192.0.2.0/25", "192.0.2.100-192.0.2.200"))

    assert merged.text == "192.0.2.0-192.0.2.200"


def test_separate_entries_get_no_merge_suggestion():
    assert merge_suggestions(entries("192.0.2.1", "192.0.2.3", "2001:db8::1")) == []


def test_the_entry_limit_is_exchanges_1200():
    assert MAX_REMOTE_IP_RANGES == 1200


# --- architecture -----------------------------------------------------------------------


def test_ranges_imports_no_transport():
    import connector_runbooks.ranges as module

    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    imported = {
        name
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for name in ([node.module] if isinstance(node, ast.ImportFrom) else
                     [alias.name for alias in node.names])
    }
    ours = {name for name in imported if name and name.startswith("connector_runbooks")}
    assert ours == {"connector_runbooks.errors"}


def test_a_utf16_file_from_windows_powershell_is_read(tmp_path) -> None:
    listing = tmp_path / "exported.txt"
    listing.write_bytes("192.0.2.1\r\n192.0.2.2\r\n".encode("utf-16"))  # BOM, as Out-File writes

    entries = read_entries_file(listing)

    assert [e.entry.text for e in entries] == ["192.0.2.1", "192.0.2.2"]
    assert [e.line for e in entries] == [1, 2]
