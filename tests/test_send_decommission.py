"""Retiring a server: one plan over every Send connector, applied connector by connector."""

from __future__ import annotations

from pathlib import Path

import pytest
from connector_runbooks import send
from connector_runbooks.errors import ConcurrentChange, PlanRefused
from connector_runbooks.simulated.shell import SimulatedShell
from helpers import ReadOnlyShell, connector, sets

EDGESYNC = "EdgeSync - Default-First-Site-Name to Internet"


def test_the_plan_lists_every_connector_that_names_the_server(state_path: Path) -> None:
    plan = send.plan_decommission(ReadOnlyShell(state_path), "ex01.corp.example.com",
                                  replace_with="EX03")

    assert plan.server == "EX01"
    assert [s.identity for s in plan.steps] == ["To Internet", "To Partner"]
    assert plan.not_listed == [EDGESYNC]
    assert not plan.blockers


def test_the_only_source_server_is_refused_without_a_replacement(state_path: Path) -> None:
    guarded = ReadOnlyShell(state_path)
    plan = send.plan_decommission(guarded, "EX01")

    assert plan.blockers == [(
        "removing EX01 would leave To Partner without source servers; Exchange refuses an "
        "empty list. Name a server in replace_with to take over from EX01 there, or change "
        "that connector first.")]
    with pytest.raises(PlanRefused):
        send.apply_decommission(guarded, plan)


def test_a_replacement_is_added_only_where_the_server_was_alone(shell: SimulatedShell) -> None:
    plan = send.plan_decommission(shell, "EX01", replace_with="EX03")

    send.apply_decommission(shell, plan)

    assert [s.parameters["SourceTransportServers"] for s in sets(shell)] == [
        {"Remove": ["EX01"]}, {"Add": ["EX03"], "Remove": ["EX01"]}]
    assert connector(shell, "To Internet").source_transport_servers == ["EX02"]
    assert connector(shell, "To Partner").source_transport_servers == ["EX03"]


def test_each_connector_is_verified_before_the_next_is_changed(shell: SimulatedShell) -> None:
    seen: list[tuple[str, bool]] = []
    plan = send.plan_decommission(shell, "EX01", replace_with="EX03")

    result = send.apply_decommission(
        shell, plan, on_applied=lambda step, r: seen.append((step.identity, r.verification.ok)))

    assert seen == [("To Internet", True), ("To Partner", True)]
    assert result.outcome == "applied"
    cmdlets = [e.cmdlet for e in shell.transcript.entries]
    first_set = cmdlets.index("Set-SendConnector")
    assert cmdlets[first_set + 1] == "Get-SendConnector"  # verified before the second Set


def test_an_unknown_replacement_is_refused_even_where_unused(state_path: Path) -> None:
    plan = send.plan_decommission(ReadOnlyShell(state_path), "EX02", replace_with="EX99")

    assert any("EX99" in b for b in plan.blockers)


def test_an_unknown_server_listed_nowhere_is_refused(state_path: Path) -> None:
    plan = send.plan_decommission(ReadOnlyShell(state_path), "EX7")

    assert plan.blockers and "EX7" in plan.blockers[0] and not plan.steps


def test_retiring_the_edge_server_is_refused_where_it_is_alone(state_path: Path) -> None:
    plan = send.plan_decommission(ReadOnlyShell(state_path), "EDGE01")

    assert any(EDGESYNC in b for b in plan.blockers)


def test_a_connector_changed_midway_stops_there_and_keeps_what_was_done(
    state_path: Path,
) -> None:
    class MeddlingShell(SimulatedShell):
        """Someone else edits To Partner right after the first connector is changed."""

        def _invoke(self, cmdlet, parameters):
            result = super()._invoke(cmdlet, parameters)
            if cmdlet == "Set-SendConnector" and parameters["Identity"] == "To Internet":
                super()._invoke(cmdlet, {"Identity": "To Partner",
                                         "SourceTransportServers": {"Add": ["EX02"]}})
            return result

    shell = MeddlingShell(state_path)
    done: list[str] = []
    plan = send.plan_decommission(shell, "EX01", replace_with="EX03")

    with pytest.raises(ConcurrentChange):
        send.apply_decommission(shell, plan, on_applied=lambda step, r: done.append(step.identity),
                                recheck_after_s=0)
    assert done == ["To Internet"]
    assert "EX01" in connector(shell, "To Partner").source_transport_servers


def test_retiring_an_edge_server_is_refused_pointing_to_remove_edgesubscription(
    state_path: Path,
) -> None:
    plan = send.plan_decommission(ReadOnlyShell(state_path), "EDGE01", replace_with="EX03")

    assert plan.blockers == [
        "EDGE01 is an Edge Transport server. An Edge server is retired by removing its Edge "
        "Subscription (Remove-EdgeSubscription EDGE01), not by editing the Send connectors "
        f"EdgeSync maintains for it ({EDGESYNC}); this runbook retires Mailbox servers only."]
    assert not plan.steps


def test_an_edge_replacement_for_a_mailbox_sourced_connector_is_refused(
    state_path: Path,
) -> None:
    plan = send.plan_decommission(ReadOnlyShell(state_path), "EX01", replace_with=["EDGE01"])

    assert len(plan.blockers) == 1
    assert plan.blockers[0].startswith("EDGE01 (parameter replace_with): Edge, but To Partner "
                                       "is sourced by Mailbox servers (EX01).")


def test_a_refused_decommission_carries_no_once_applied_warning(state_path: Path) -> None:
    plan = send.plan_decommission(ReadOnlyShell(state_path), "EX01", replace_with="EDGE01")

    assert plan.blockers and plan.warnings == []
