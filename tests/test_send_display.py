"""What the Send connector records show a reader: whole cmdlets, and lists before and after."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from connector_runbooks import send, send_display
from connector_runbooks.simulated.shell import SimulatedShell
from helpers import ReadOnlyShell


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Everything the display functions show, in order."""
    parts: list[Any] = []
    monkeypatch.setattr(send_display, "show", lambda *objects: parts.extend(objects))
    return parts


def test_the_decommission_plan_shows_each_set_line_whole(
    state_path: Path, shown: list[Any],
) -> None:
    plan = send.plan_decommission(ReadOnlyShell(state_path), "EX01", replace_with="EX03")

    send_display.show_decommission_plan(plan)

    block = next(p for p in shown if isinstance(p, str) and "```powershell" in p)
    assert block.split("```powershell\n")[1].split("\n```")[0].splitlines() == [
        "Set-SendConnector -Identity 'To Internet' -SourceTransportServers @{Remove='EX01'}",
        "Set-SendConnector -Identity 'To Partner' -SourceTransportServers "
        "@{Add='EX03'; Remove='EX01'}"]


def test_a_refused_decommission_shows_no_cmdlets(state_path: Path, shown: list[Any]) -> None:
    plan = send.plan_decommission(ReadOnlyShell(state_path), "EX01")

    send_display.show_decommission_plan(plan)

    assert not any(isinstance(p, str) and "```powershell" in p for p in shown)


def test_verifying_a_removal_shows_the_removed_smart_hosts_before_and_after(
    state_path: Path, shown: list[Any],
) -> None:
    shell = SimulatedShell(state_path)
    plan = send.plan_smart_hosts(shell, "To Internet", dns_routing_enabled=True,
                                 remove=["smtp1.relay.example.net", "203.0.113.25"])
    verification = send.apply_plan(shell, plan).verification

    send_display.show_verification(verification)

    assert "SmartHosts before: smtp1.relay.example.net, [203.0.113.25]; now: (none)." in shown[0]
    assert send_display.verification_table(verification).values.tolist() == [
        ["smtp1.relay.example.net", True, False, False],
        ["[203.0.113.25]", True, False, False],
        ["DNSRoutingEnabled", False, True, True]]
