"""Shared test set-up.

Every test session gets its own simulated organization and records folder, through the
environment variables the library reads, so notebook kernels started by nbval or papermill
(which inherit the environment) never touch a user's real state or records.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

import pytest

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="connector-runbooks-tests-"))
os.environ["CONNECTOR_RUNBOOKS_STATE"] = str(_SESSION_DIR / "simulated-organization.json")
os.environ["CONNECTOR_RUNBOOKS_RECORDS"] = str(_SESSION_DIR / "records")


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    """A fresh simulated organization state file for one test (created on first use)."""
    return tmp_path / "organization.json"


if "sim_org" not in globals():

    @pytest.fixture
    def sim_org(tmp_path: Path):
        """A simulated organization holding the demo organization, on its own state file."""
        from connector_runbooks.simulated import Organization

        return Organization(tmp_path / "sim-organization.json")


#: The account the loopback emulator accepts in tests (NTLM or Basic).
EMULATOR_USER = "LAB\\tester"


@pytest.fixture(scope="session")
def emulator_user() -> str:
    """The account name the ``emulator`` fixture accepts."""
    return EMULATOR_USER


@pytest.fixture
def throwaway_password(monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh password for the emulator's account, known to the library only through
    CONNECTOR_RUNBOOKS_PASSWORD (notebook kernels inherit it); no test ever prompts."""
    from connector_runbooks import credentials

    value = "throwaway-" + secrets.token_hex(8)
    monkeypatch.setenv(credentials.PASSWORD_ENV, value)
    monkeypatch.setattr(credentials, "can_prompt", lambda: False)
    return value


@pytest.fixture
def emulator(state_path: Path, throwaway_password: str):
    """The loopback WinRM/PSRP emulator on a free port, serving the organization in
    ``state_path`` (the demo organization, written when it starts) to one throwaway account,
    with Basic and NTLM offered."""
    from connector_runbooks.emulator import serve

    with serve(port=0, users={EMULATOR_USER: throwaway_password},
               state_path=state_path) as running:
        yield running


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A fresh organization and records folder for one test, seen by notebook kernels too
    (they inherit the environment); returns the records folder."""
    monkeypatch.setenv("CONNECTOR_RUNBOOKS_STATE", str(tmp_path / "organization.json"))
    records = tmp_path / "records"
    monkeypatch.setenv("CONNECTOR_RUNBOOKS_RECORDS", str(records))
    return records


@pytest.fixture
def shell(state_path: Path):
    """The in-process simulated organization of one test."""
    from connector_runbooks.simulated.shell import SimulatedShell

    return SimulatedShell(state_path)


@pytest.fixture
def guarded(state_path: Path):
    """The same organization behind a shell that fails the test on any mutating cmdlet."""
    from helpers import ReadOnlyShell

    return ReadOnlyShell(state_path)
