"""The simulator's own strict parsers for IP ranges and bindings (reference 5.4-5.5)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from connector_runbooks.simulated.addresses import (
    AddressParseError,
    parse_ip_binding,
    parse_ip_range,
)
from connector_runbooks.simulated.demo import demo_state
from connector_runbooks.simulated.receive import check_conflicts
from connector_runbooks.simulated.state import OrgState


@pytest.mark.parametrize("text, shown, form", [
    ("192.0.2.10", "192.0.2.10", "SingleAddress"),
    ("192.0.2.10-192.0.2.20", "192.0.2.10-192.0.2.20", "LoHi"),
    ("192.0.2.77/24", "192.0.2.0/24", "CIDR"),
    ("192.0.2.0(255.255.255.0)", "192.0.2.0(255.255.255.0)", "Netmask"),
    ("2001:db8::/48", "2001:db8::/48", "CIDR"),
    ("fe80::1%11", "fe80::1%11", "SingleAddress"),
])
def test_accepted_forms_and_their_display(text, shown, form):
    parsed = parse_ip_range(text)
    assert (parsed.display, parsed.range_format) == (shown, form)


def test_equal_bounds_are_the_same_entry_whatever_the_form():
    assert parse_ip_range("10.0.0.0/30").same_entry(parse_ip_range("10.0.0.0-10.0.0.3"))
    assert parse_ip_range("10.0.0.0/30").same_entry(parse_ip_range("10.0.0.0(255.255.255.252)"))


def test_partial_overlap_is_neither_containment_nor_disjoint():
    wide, inner = parse_ip_range("10.0.0.0/24"), parse_ip_range("10.0.0.5")
    cut = parse_ip_range("10.0.0.200-10.0.1.5")
    assert not wide.partly_overlaps(inner)
    assert wide.partly_overlaps(cut)


@pytest.mark.parametrize("text", ["10.1", "010.0.0.1", "10.0.0.1 ", ""])
def test_nothing_is_repaired(text):
    with pytest.raises(AddressParseError):
        parse_ip_range(text)


@pytest.mark.parametrize("text, shown", [("0.0.0.0:25", "0.0.0.0:25"), ("[::]:25", "[::]:25"),
                                         ("[2001:db8::1]:587", "[2001:db8::1]:587")])
def test_bindings_parse_both_families(text, shown):
    assert parse_ip_binding(text).display == shown


@pytest.mark.parametrize("text", ["0.0.0.0", "::]:25", "[10.0.0.1]:25", "0.0.0.0:70000"])
def test_malformed_bindings_are_refused(text):
    with pytest.raises(AddressParseError):
        parse_ip_binding(text)


def test_the_demo_organization_has_no_connector_conflicts():
    state = OrgState(demo_state())
    for connector in state.receive_connectors:
        check_conflicts(state, connector)


def test_the_simulator_never_imports_the_lenient_parser():
    code = ("import sys, connector_runbooks.simulated.organization; "
            "print('connector_runbooks.ranges' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_first_clash_agrees_with_comparing_every_pair():
    import random

    from connector_runbooks.simulated.addresses import first_clash

    rng = random.Random(7)

    def some_range():
        low = rng.randrange(0, 200)
        return parse_ip_range(f"10.0.0.{low}-10.0.0.{min(255, low + rng.randrange(0, 40))}")

    for _ in range(300):
        mine = [some_range() for _ in range(rng.randrange(1, 6))]
        theirs = [some_range() for _ in range(rng.randrange(1, 6))] + [parse_ip_range("fd00::1")]
        for identical in (True, False):
            brute = any(m.partly_overlaps(t) or (identical and m.same_entry(t))
                        for m in mine for t in theirs)
            assert (first_clash(mine, theirs, identical_clashes=identical) is not None) == brute
