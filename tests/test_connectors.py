"""Finding connectors by the names admins type and paste."""

from __future__ import annotations

from pathlib import Path

import pytest
from connector_runbooks.connectors import find_receive_connector
from connector_runbooks.errors import InputError
from connector_runbooks.simulated.shell import SimulatedShell


@pytest.mark.parametrize("typed", [
    "EX02\\Relay Scanners",
    "ex02\\relay scanners",
    "EX02\\\\Relay Scanners",
    "\u201cEX02\\Relay\u00a0Scanners\u201d",
    "  EX02\\Relay Scanners ",
])
def test_a_connector_is_found_however_its_name_was_typed_or_pasted(
    state_path: Path, typed: str
) -> None:
    assert find_receive_connector(SimulatedShell(state_path), typed).identity == \
        "EX02\\Relay Scanners"


def test_an_unknown_connector_is_refused_listing_the_server_connectors(state_path: Path) -> None:
    with pytest.raises(InputError) as failure:
        find_receive_connector(SimulatedShell(state_path), "EX02\\Relay Scaners")

    assert "EX02\\Relay Scanners" in failure.value.accepted
    assert "'EX02\\Relay Scaners'" in str(failure.value)


def test_a_bare_name_on_several_servers_is_ambiguous(state_path: Path) -> None:
    with pytest.raises(InputError, match="several connectors"):
        find_receive_connector(SimulatedShell(state_path), "Relay Scanners")
