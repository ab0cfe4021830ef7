"""Shells and readers shared by the plan, Send connector and queue tests."""

from __future__ import annotations

from typing import Any

import pytest
from connector_runbooks.send import SendConnector, find_send_connector
from connector_runbooks.shell import TranscriptEntry, is_mutating
from connector_runbooks.simulated.shell import SimulatedShell


class ReadOnlyShell(SimulatedShell):
    """A shell that fails the test on any cmdlet that could change the organization."""

    def _invoke(self, cmdlet: str, parameters: dict[str, Any]):
        if is_mutating(cmdlet):
            pytest.fail(f"plan mode sent {cmdlet}")
        return super()._invoke(cmdlet, parameters)


def connector(shell: SimulatedShell, identity: str) -> SendConnector:
    return find_send_connector(shell, identity)


def sets(shell: SimulatedShell) -> list[TranscriptEntry]:
    """The Set- calls the shell sent."""
    return shell.transcript.calls("Set")

