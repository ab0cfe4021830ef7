"""Shared test set-up.

Every test session gets its own simulated organization and records folder, through the
environment variables the library reads, so notebook kernels started by nbval or papermill
(which inherit the environment) never touch a user's real state or records.
"""

from __future__ import annotations

import os
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
