"""Send connector changes and the queue check over the emulator, as against a real server.

The same change is planned and applied in-process on a copy of the organization; both runs
must produce the same plan, result, calls and queue findings.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict
from pathlib import Path

import pytest
from connector_runbooks import queues, send
from connector_runbooks.remote import RemoteShell
from connector_runbooks.shell import Shell
from connector_runbooks.simulated.organization import Organization
from connector_runbooks.simulated.shell import SimulatedShell


@pytest.fixture
def states(emulator, state_path: Path, tmp_path: Path) -> tuple[Path, Path]:
    """Two copies of the demo organization with EX03's port 25 blocked: the one the emulator
    serves, and one run in-process."""
    local = tmp_path / "local.json"
    Organization(state_path).set_port25_blocked("EX03", True)
    shutil.copy(state_path, local)
    return state_path, local


def add_ex03_and_check(shell: Shell) -> tuple[dict, dict, list[dict]]:
    current = send.find_send_connector(shell, "To Internet")
    plan = send.plan_source_servers(shell, current, add="EX03")
    result = send.apply_plan(shell, plan)
    checks = queues.check_after_apply(shell, plan, result)
    return plan.to_dict(), result.to_dict(), [asdict(f) for c in checks for f in c.failures]


def test_adding_a_blocked_server_over_ntlm_matches_the_in_process_run(
    emulator, emulator_user: str, states: tuple[Path, Path],
) -> None:
    with (
        RemoteShell.from_target(emulator.url, auth="ntlm", username=emulator_user) as remote,
        SimulatedShell(states[1]) as local,
    ):
        over_the_wire, in_process = add_ex03_and_check(remote), add_ex03_and_check(local)

        assert over_the_wire == in_process
        assert over_the_wire[2][0]["server"] == "EX03" and over_the_wire[2][0]["port"] == 25
        assert [e.cmdlet for e in remote.transcript.entries] == [
            e.cmdlet for e in local.transcript.entries]
        edit = remote.transcript.calls("Set")[0].parameters["SourceTransportServers"]
        assert edit == {"Add": ["EX03"]}
