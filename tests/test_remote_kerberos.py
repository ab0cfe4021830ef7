"""Kerberos, the documented default, on a machine without Kerberos support."""

from __future__ import annotations

import importlib.util

import pytest
from connector_runbooks import connect
from connector_runbooks.errors import TransportError


@pytest.mark.skipif(importlib.util.find_spec("gssapi") is not None,
                    reason="this machine has Kerberos support")
def test_missing_kerberos_support_is_explained_not_shown_as_an_import_error(emulator) -> None:
    with connect(emulator.url) as shell, pytest.raises(TransportError) as failure:
        shell.invoke("Get-ExchangeServer")

    assert "needs Kerberos support" in str(failure.value)
    assert "auth='ntlm'" in str(failure.value)
