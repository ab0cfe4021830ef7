"""The relay IP ranges plan and apply over the emulator, with NTLM and message encryption.

The same change is planned and applied in-process on a copy of the organization, and both
runs must produce the same plan, the same connector afterwards and the same calls.
"""

from __future__ import annotations

import shutil

import pytest
from connector_runbooks.emulator import Fault
from connector_runbooks.errors import OutcomeUnknown
from connector_runbooks.plan import apply_plan, plan_remote_ip_ranges
from connector_runbooks.remote import RemoteShell
from connector_runbooks.simulated.shell import SimulatedShell

RELAY = "EX01\\Relay Scanners"
CHANGE = {"add": ["192.0.2.20", "192.0.2.21"], "remove": ["10.20.1.11"]}


@pytest.fixture
def states(emulator, state_path, tmp_path):
    """Two copies of the demo organization: the one the emulator serves (written when it
    started), and one run in-process."""
    local = tmp_path / "local.json"
    shutil.copy(state_path, local)
    return state_path, local


def _remote(emulator, user: str) -> RemoteShell:
    return RemoteShell.from_target(emulator.url, auth="ntlm", username=user)


def _calls(shell) -> list[tuple[str, str]]:
    return [(e.cmdlet, e.outcome) for e in shell.transcript.entries]


def _connector_calls(shell) -> list[tuple[str, str]]:
    return [call for call in _calls(shell) if call[0].endswith("-ReceiveConnector")]


def _without_times(records: list[dict]) -> list[dict]:
    # WhenChanged is the second each run made its change; the two runs differ there.
    return [{k: v for k, v in r.items() if k != "WhenChanged"} for r in records]


def test_plan_and_apply_over_ntlm_match_the_in_process_run(emulator, emulator_user, states):
    with _remote(emulator, emulator_user) as remote, SimulatedShell(states[1]) as local:
        remote_plan = plan_remote_ip_ranges(remote, RELAY, **CHANGE)
        local_plan = plan_remote_ip_ranges(local, RELAY, **CHANGE)
        remote_result = apply_plan(remote, remote_plan)
        local_result = apply_plan(local, local_plan)

        assert remote_plan.to_dict() | {"read_at": None} == local_plan.to_dict() | {
            "read_at": None}
        assert remote_result.to_dict() == local_result.to_dict()
        assert _calls(remote) == _calls(local)
        assert _without_times(remote.invoke("Get-ReceiveConnector")) == _without_times(
            local.invoke("Get-ReceiveConnector"))


def test_a_change_costs_one_connector_read_one_write_one_verifying_read_in_one_pool(
        emulator, emulator_user):
    with _remote(emulator, emulator_user) as remote:
        apply_plan(remote, plan_remote_ip_ranges(remote, RELAY, **CHANGE))

        assert _connector_calls(remote) == [("Get-ReceiveConnector", "ok"),
                                            ("Set-ReceiveConnector", "ok"),
                                            ("Get-ReceiveConnector", "ok")]
        assert len(remote.runspace_pool_ids) == 1
        assert remote.transcript.session["encryption"] == "message"


def test_a_lost_set_is_unknown_and_the_connector_is_read_again_after_reconnecting(
        emulator, emulator_user):
    emulator.faults.add(Fault("drop", "Set-ReceiveConnector", when="after"))

    with _remote(emulator, emulator_user) as remote:
        plan = plan_remote_ip_ranges(remote, RELAY, **CHANGE)
        with pytest.raises(OutcomeUnknown) as raised:
            apply_plan(remote, plan)

        assert raised.value.reread.ok  # the change had been made before the drop
        assert _connector_calls(remote) == [("Get-ReceiveConnector", "ok"),
                                            ("Set-ReceiveConnector", "unknown"),
                                            ("Get-ReceiveConnector", "ok")]
        assert len(remote.runspace_pool_ids) == 2
