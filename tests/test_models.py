"""Typed views of shell records: flags read strictly."""

from __future__ import annotations

import logging

import pytest
from connector_runbooks.models import ExchangeServer, ReceiveConnector


def receive(**properties) -> ReceiveConnector:
    return ReceiveConnector.from_record({"Identity": "EX01\\Relay", **properties})


@pytest.mark.parametrize(("value", "enabled"), [
    (False, False), (True, True), ("False", False), ("false", False), (" TRUE ", True)])
def test_enabled_as_a_boolean_or_its_text_reads_as_what_it_says(value, enabled):
    assert receive(Enabled=value).enabled is enabled


def test_a_connector_without_enabled_is_enabled():
    assert receive().enabled is True


def test_an_enabled_value_that_is_no_flag_takes_the_default_with_a_warning(caplog):
    caplog.set_level(logging.WARNING)

    assert receive(Enabled="no").enabled is True
    assert "EX01\\Relay: Enabled is 'no'" in caplog.text


def test_server_flags_given_as_text_read_as_what_they_say():
    server = ExchangeServer.from_record({"Name": "EX01", "ServerRole": "Mailbox",
                                         "IsEdgeServer": "False", "IsMailboxServer": "False"})

    assert (server.is_edge, server.is_mailbox) == (False, False)
