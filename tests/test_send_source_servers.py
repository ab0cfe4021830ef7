"""SourceTransportServers plans: the checks before the plan, hashtable edits, and verification."""

from __future__ import annotations

import pytest
from connector_runbooks import send
from connector_runbooks.errors import ConcurrentChange, InputError, InputErrors, PlanRefused
from connector_runbooks.models import ExchangeServer
from connector_runbooks.simulated.shell import SimulatedShell
from helpers import ReadOnlyShell, connector, sets

INTERNET = "To Internet"


def test_adding_a_server_plans_one_hashtable_edit(guarded: ReadOnlyShell) -> None:
    plan = send.plan_source_servers(guarded, INTERNET, add="EX03")

    assert plan.parameters == {"Identity": INTERNET,
                               "SourceTransportServers": {"Add": ["EX03"]}}
    assert plan.before == ["EX01", "EX02"] and plan.after == ["EX03", "EX01", "EX02"]
    assert "-SourceTransportServers @{Add='EX03'}" in plan.powershell
    assert not plan.blockers


def test_a_server_given_by_fqdn_is_sent_by_its_name(guarded: ReadOnlyShell) -> None:
    plan = send.plan_source_servers(guarded, INTERNET, add="ex03.corp.example.com")

    assert plan.add == ["EX03"]


def test_only_hashtable_edits_are_sent_for_source_servers(shell: SimulatedShell) -> None:
    send.apply_plan(shell, send.plan_source_servers(shell, INTERNET, add="EX03"))
    send.apply_plan(shell, send.plan_source_servers(shell, INTERNET, remove="EX01"))

    edits = [entry.parameters["SourceTransportServers"] for entry in sets(shell)]
    assert edits == [{"Add": ["EX03"]}, {"Remove": ["EX01"]}]
    assert connector(shell, INTERNET).source_transport_servers == ["EX03", "EX02"]


def test_apply_verifies_by_reading_the_connector_again(shell: SimulatedShell) -> None:
    result = send.apply_plan(shell, send.plan_source_servers(shell, INTERNET, add="EX03"))

    assert result.outcome == "applied" and result.verification.ok
    assert shell.transcript.entries[-1].cmdlet == "Get-SendConnector"


def test_an_unknown_server_is_refused_naming_it_and_nothing_is_sent(
    guarded: ReadOnlyShell,
) -> None:
    plan = send.plan_source_servers(guarded, INTERNET, add="EX09")

    assert any("EX09" in b and "no Exchange server of that name" in b for b in plan.blockers)
    with pytest.raises(PlanRefused, match="EX09"):
        send.apply_plan(guarded, plan)


def test_an_edge_server_on_a_mailbox_sourced_connector_is_refused(
    guarded: ReadOnlyShell,
) -> None:
    plan = send.plan_source_servers(guarded, INTERNET, add="EDGE01")

    assert any("EDGE01" in b and "does not mix Edge and Mailbox" in b for b in plan.blockers)
    with pytest.raises(PlanRefused):
        send.apply_plan(guarded, plan)


def test_a_mailbox_server_on_the_edgesync_connector_is_refused(guarded: ReadOnlyShell) -> None:
    plan = send.plan_source_servers(
        guarded, "EdgeSync - Default-First-Site-Name to Internet", add="EX03")

    assert any("EX03" in b and "EDGE01" in b for b in plan.blockers)


def test_a_removal_that_empties_the_list_is_refused_and_nothing_is_sent(
    guarded: ReadOnlyShell,
) -> None:
    plan = send.plan_source_servers(guarded, "To Partner", remove="EX01")

    assert any("EX01" in b and "without source servers" in b for b in plan.blockers)
    with pytest.raises(PlanRefused):
        send.apply_plan(guarded, plan)


def test_removing_and_adding_in_one_change_keeps_the_list_filled(shell: SimulatedShell) -> None:
    plan = send.plan_source_servers(shell, "To Partner", add="EX03", remove="EX01")

    send.apply_plan(shell, plan)

    assert sets(shell)[0].parameters["SourceTransportServers"] == {"Add": ["EX03"],
                                                                   "Remove": ["EX01"]}
    assert connector(shell, "To Partner").source_transport_servers == ["EX03"]


def test_a_server_of_an_unsupported_version_cannot_be_a_source_server() -> None:
    exchange_2013 = ExchangeServer.from_record({
        "Name": "EX2013", "ServerRole": "Mailbox, ClientAccess", "IsMailboxServer": True,
        "AdminDisplayVersion": "Version 15.0 (Build 1497.2)"})

    assert send.source_server_problem(exchange_2013) == (
        "EX2013 runs Version 15.0 (Build 1497.2); source servers must run Exchange Server "
        "2016 (15.1) or Exchange Server 2019 (15.2)")


def test_a_server_without_the_mailbox_role_cannot_be_a_source_server() -> None:
    client_access = ExchangeServer.from_record({
        "Name": "CAS01", "ServerRole": "ClientAccess", "IsMailboxServer": False,
        "AdminDisplayVersion": "Version 15.1 (Build 2507.6)"})

    assert "only Mailbox servers" in send.source_server_problem(client_access)


def test_a_server_already_listed_is_reported_not_sent(guarded: ReadOnlyShell) -> None:
    plan = send.plan_source_servers(guarded, INTERNET, add="ex02")

    assert not plan.changed
    assert plan.unchanged[0].reason == f"already a source server of {INTERNET} as EX02"


def test_removing_a_server_not_listed_is_reported_not_sent(guarded: ReadOnlyShell) -> None:
    plan = send.plan_source_servers(guarded, INTERNET, remove="EX03")

    assert not plan.changed
    assert plan.unchanged[0].reason == f"not a source server of {INTERNET}"


def test_malformed_names_are_all_refused_before_anything_is_read(
    guarded: ReadOnlyShell,
) -> None:
    with pytest.raises(InputErrors) as failure:
        send.plan_source_servers(guarded, INTERNET, add=["EX03", "EX04!"], remove="-bad-")

    assert [(e.source, e.line, e.value) for e in failure.value.errors] == [
        ("parameter add", 2, "EX04!"), ("parameter remove", None, "-bad-")]
    assert not guarded.transcript.entries


def test_an_unknown_connector_lists_the_ones_that_exist(guarded: ReadOnlyShell) -> None:
    with pytest.raises(InputError, match="To Partner"):
        send.plan_source_servers(guarded, "To Intranet", add="EX03")


def test_a_change_made_after_the_plan_stops_the_apply(shell: SimulatedShell) -> None:
    plan = send.plan_source_servers(shell, INTERNET, add="EX03")
    send.apply_plan(shell, send.plan_source_servers(shell, INTERNET, remove="EX01"))

    with pytest.raises(ConcurrentChange):
        send.apply_plan(shell, plan, recheck_after_s=0)
    assert len(sets(shell)) == 1


def test_a_fresh_plan_costs_one_read_one_write_and_one_verifying_read(
    shell: SimulatedShell,
) -> None:
    current = send.find_send_connector(shell, INTERNET)
    plan = send.plan_source_servers(shell, current, add="EX03")
    send.apply_plan(shell, plan)

    calls = [e.cmdlet for e in shell.transcript.entries if e.cmdlet != "Get-ExchangeServer"]
    assert calls == ["Get-SendConnector", "Set-SendConnector", "Get-SendConnector"]


def test_a_server_asked_both_to_be_added_and_removed_is_refused_though_not_listed(
    guarded: ReadOnlyShell,
) -> None:
    plan = send.plan_source_servers(guarded, INTERNET, add="EX03", remove="EX03")

    assert plan.blockers == ["EX03 is asked both to be added (parameter add) and removed "
                             "(parameter remove); name it in one of them only"]
    assert (plan.add, plan.remove, plan.unchanged) == ([], [], [])


def test_a_listed_server_asked_both_ways_is_refused_the_same_way(guarded: ReadOnlyShell) -> None:
    plan = send.plan_source_servers(guarded, INTERNET, add="EX01", remove="ex01")

    assert plan.blockers == ["EX01 is asked both to be added (parameter add) and removed "
                             "(parameter remove); name it in one of them only"]


def test_swapping_a_mailbox_sourced_connector_to_an_edge_server_is_refused(
    guarded: ReadOnlyShell,
) -> None:
    plan = send.plan_source_servers(guarded, "To Partner", add="EDGE01", remove="EX01")

    assert len(plan.blockers) == 1
    assert "never add an Edge server to a Mailbox-sourced connector" in plan.blockers[0]
    assert not any(w.startswith("Once applied") for w in plan.warnings)


def test_swapping_the_edgesync_connector_to_a_mailbox_server_is_refused(
    guarded: ReadOnlyShell,
) -> None:
    plan = send.plan_source_servers(guarded, "EdgeSync - Default-First-Site-Name to Internet",
                                    add="EX03", remove="EDGE01")

    assert len(plan.blockers) == 1
    assert "EdgeSync maintains that connector" in plan.blockers[0]


def test_the_star_address_space_is_called_the_internet() -> None:
    internet = send.SendConnector.from_record({"Identity": "Outbound", "AddressSpaces":
                                               ["SMTP:*;1"], "DNSRoutingEnabled": True})

    assert send.next_hops(internet) == "the internet's MX hosts"
