"""SmartHosts plans: validated hosts, DNS routing rules said plainly, hashtable edits only."""

from __future__ import annotations

from pathlib import Path

import pytest
from connector_runbooks import send
from connector_runbooks.errors import InputErrors, PlanRefused
from connector_runbooks.simulated.shell import SimulatedShell
from helpers import ReadOnlyShell, connector, sets

INTERNET = "To Internet"  # smart hosts smtp1.relay.example.net and [203.0.113.25]
PARTNER = "To Partner"  # DNS routing


def test_swapping_a_smart_host_sends_one_hashtable_edit(shell: SimulatedShell) -> None:
    plan = send.plan_smart_hosts(shell, INTERNET, add="smtp2.relay.example.net",
                                 remove="203.0.113.25")

    result = send.apply_plan(shell, plan)

    assert result.verification.ok
    assert [s.parameters for s in sets(shell)] == [{
        "Identity": INTERNET,
        "SmartHosts": {"Add": ["smtp2.relay.example.net"], "Remove": ["[203.0.113.25]"]}}]
    assert connector(shell, INTERNET).smart_hosts == ["smtp2.relay.example.net",
                                                      "smtp1.relay.example.net"]


def test_an_ip_smart_host_matches_its_bracketed_form(guarded: ReadOnlyShell) -> None:
    plan = send.plan_smart_hosts(guarded, INTERNET, add="[203.0.113.25]")

    assert not plan.changed
    assert plan.unchanged[0].reason == f"already a smart host of {INTERNET} as [203.0.113.25]"


def test_host_names_compare_without_regard_to_case(guarded: ReadOnlyShell) -> None:
    plan = send.plan_smart_hosts(guarded, INTERNET, remove="SMTP1.Relay.Example.NET.")

    assert plan.remove == ["smtp1.relay.example.net"]


def test_smart_hosts_on_a_dns_routed_connector_are_refused_said_plainly(
    guarded: ReadOnlyShell,
) -> None:
    plan = send.plan_smart_hosts(guarded, PARTNER, add="smtp.partner-gw.example.net")

    assert len(plan.blockers) == 1
    assert "uses DNS routing" in plan.blockers[0]
    assert "set dns_routing_enabled to false" in plan.blockers[0]
    with pytest.raises(PlanRefused):
        send.apply_plan(guarded, plan)


def test_turning_dns_routing_off_goes_in_the_same_set_as_the_smart_hosts(
    shell: SimulatedShell,
) -> None:
    plan = send.plan_smart_hosts(shell, PARTNER, add="198.51.100.7", dns_routing_enabled=False)

    send.apply_plan(shell, plan)

    assert [s.parameters for s in sets(shell)] == [{
        "Identity": PARTNER, "DNSRoutingEnabled": False, "SmartHosts": {"Add": ["198.51.100.7"]}}]
    assert "-DNSRoutingEnabled:$false" in plan.powershell
    assert any("DNS routing will be turned off" in w for w in plan.warnings)
    after = connector(shell, PARTNER)
    assert (after.dns_routing_enabled, after.smart_hosts) == (False, ["[198.51.100.7]"])


def test_removing_the_last_smart_host_while_dns_routing_is_off_is_refused(
    state_path: Path,
) -> None:
    shell = SimulatedShell(state_path)
    send.apply_plan(shell, send.plan_smart_hosts(shell, INTERNET, remove="203.0.113.25"))
    guarded = ReadOnlyShell(state_path)

    plan = send.plan_smart_hosts(guarded, INTERNET, remove="smtp1.relay.example.net")

    assert any("without smart hosts while DNS routing is off" in b for b in plan.blockers)
    with pytest.raises(PlanRefused):
        send.apply_plan(guarded, plan)


def test_removing_every_smart_host_to_turn_dns_routing_on_is_one_set(
    shell: SimulatedShell,
) -> None:
    plan = send.plan_smart_hosts(shell, INTERNET, dns_routing_enabled=True,
                                 remove=["smtp1.relay.example.net", "203.0.113.25"])

    send.apply_plan(shell, plan)

    after = connector(shell, INTERNET)
    assert (after.dns_routing_enabled, after.smart_hosts) == (True, [])
    assert len(sets(shell)) == 1


def test_turning_dns_routing_on_while_smart_hosts_remain_is_refused(
    guarded: ReadOnlyShell,
) -> None:
    plan = send.plan_smart_hosts(guarded, INTERNET, dns_routing_enabled=True)

    assert any("needs every smart host removed" in b for b in plan.blockers)


def test_malformed_smart_hosts_are_refused_naming_each_one(guarded: ReadOnlyShell) -> None:
    with pytest.raises(InputErrors) as failure:
        send.plan_smart_hosts(guarded, INTERNET,
                              add=["relay_1.example.net", "203.0.113.300", "-bad.example.net",
                                   "[relay.example.net]", "ok.example.net"])

    assert [e.value for e in failure.value.errors] == [
        "relay_1.example.net", "203.0.113.300", "-bad.example.net", "[relay.example.net]"]
    assert not guarded.transcript.entries


def test_an_ipv6_smart_host_is_accepted_in_brackets(guarded: ReadOnlyShell) -> None:
    plan = send.plan_smart_hosts(guarded, INTERNET, add="[2001:db8::25]")

    assert plan.add == ["2001:db8::25"]


def test_a_host_name_with_a_space_is_one_bad_value_not_two_hosts() -> None:
    from connector_runbooks.errors import InputErrors
    from connector_runbooks.send import read_smart_hosts

    with pytest.raises(InputErrors) as failure:
        read_smart_hosts(["smtp 3.relay.example.net"], source="parameter add")
    assert [e.value for e in failure.value.errors] == ["smtp 3.relay.example.net"]


def test_a_smart_host_asked_both_to_be_added_and_removed_is_refused_though_absent(
    guarded: ReadOnlyShell,
) -> None:
    plan = send.plan_smart_hosts(guarded, INTERNET, add="[198.51.100.9]", remove="198.51.100.9")

    assert plan.blockers == ["[198.51.100.9] is asked both to be added (parameter add) and "
                             "removed (parameter remove); name it in one of them only"]
    assert not plan.add and not plan.unchanged


def test_a_refused_smart_host_plan_carries_no_reach_warning(guarded: ReadOnlyShell) -> None:
    plan = send.plan_smart_hosts(guarded, INTERNET, add=["smtp9.example.net", "x.example.net"],
                                 remove="x.example.net")

    assert plan.blockers and plan.warnings == []
