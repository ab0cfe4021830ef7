"""Where a remote session's password comes from, and that it never shows."""

from __future__ import annotations

import pytest
from connector_runbooks import credentials
from connector_runbooks.credentials import (
    PASSWORD_ENV,
    USERNAME_ENV,
    Secret,
    credentials_for,
)
from connector_runbooks.errors import AuthenticationError

THROWAWAY = "throwaway-password-for-tests"
REAL_FROM_KEYRING = credentials._from_keyring


@pytest.fixture(autouse=True)
def no_outside_sources(monkeypatch):
    """No password from the environment, the keyring or a prompt unless a test gives one."""
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    monkeypatch.delenv(USERNAME_ENV, raising=False)
    monkeypatch.setattr(credentials, "_from_keyring", lambda username: None)
    monkeypatch.setattr(credentials, "can_prompt", lambda: False)


def test_the_environment_gives_the_password(monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, THROWAWAY)

    found = credentials_for("ntlm", "LAB\\admin")

    assert (found.username, found.password.reveal(), found.source) == (
        "LAB\\admin", THROWAWAY, "environment")


def test_the_keyring_is_asked_by_service_and_user_name(monkeypatch):
    import keyring

    asked = []

    def get_password(service, username):
        asked.append((service, username))
        return THROWAWAY

    monkeypatch.setattr(credentials, "_from_keyring", REAL_FROM_KEYRING)
    monkeypatch.setattr(keyring, "get_password", get_password)

    found = credentials_for("basic", "LAB\\admin")

    assert asked == [("connector-runbooks", "LAB\\admin")]
    assert (found.password.reveal(), found.source) == (THROWAWAY, "keyring")


def test_a_keyring_without_a_backend_counts_as_no_password(monkeypatch):
    import keyring
    from keyring.errors import NoKeyringError

    def no_backend(service, username):
        raise NoKeyringError("no backend")

    monkeypatch.setattr(credentials, "_from_keyring", REAL_FROM_KEYRING)
    monkeypatch.setattr(keyring, "get_password", no_backend)

    assert credentials.resolve_password("LAB\\admin", interactive=False) is None


def test_the_user_name_can_come_from_the_environment(monkeypatch):
    monkeypatch.setenv(USERNAME_ENV, "LAB\\ops")
    monkeypatch.setenv(PASSWORD_ENV, THROWAWAY)

    assert credentials_for("ntlm").username == "LAB\\ops"


def test_without_a_person_there_is_no_prompt_and_a_clear_error(monkeypatch):
    monkeypatch.setattr(credentials.getpass, "getpass",
                        lambda prompt: pytest.fail("prompted without a person"))

    with pytest.raises(AuthenticationError, match="CONNECTOR_RUNBOOKS_PASSWORD"):
        credentials_for("ntlm", "LAB\\admin")


def test_a_person_is_asked_when_nothing_else_has_the_password(monkeypatch):
    monkeypatch.setattr(credentials, "can_prompt", lambda: True)
    monkeypatch.setattr(credentials.getpass, "getpass", lambda prompt: THROWAWAY)

    found = credentials_for("ntlm", "LAB\\admin")

    assert (found.password.reveal(), found.source) == (THROWAWAY, "prompt")


def test_kerberos_without_a_user_uses_the_ticket_cache():
    found = credentials_for("kerberos")

    assert (found.username, found.password, found.source) == (None, None, "ticket cache")


def test_kerberos_with_a_user_but_no_password_never_prompts(monkeypatch):
    monkeypatch.setattr(credentials, "can_prompt", lambda: True)
    monkeypatch.setattr(credentials.getpass, "getpass",
                        lambda prompt: pytest.fail("Kerberos should use the ticket"))

    assert credentials_for("kerberos", "admin@CORP.EXAMPLE.COM").source == "ticket cache"


def test_basic_needs_a_user_name():
    with pytest.raises(AuthenticationError, match="user name"):
        credentials_for("basic")


def test_a_secret_never_shows_in_repr_str_or_the_credentials_repr(monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, THROWAWAY)

    found = credentials_for("ntlm", "LAB\\admin")

    for text in (repr(found), str(found), found.describe(), repr(Secret(THROWAWAY)),
                 f"{Secret(THROWAWAY)}"):
        assert THROWAWAY not in text


def test_ntlm_messages_never_reach_a_debug_log() -> None:
    import logging

    import connector_runbooks.credentials  # noqa: F401  (importing it sets the levels)

    root = logging.getLogger()
    previous = root.level
    root.setLevel(logging.DEBUG)  # setLevel, unlike assigning .level, clears the level caches
    try:
        assert logging.getLogger("connector_runbooks").isEnabledFor(logging.DEBUG)
        assert not logging.getLogger("spnego._ntlm").isEnabledFor(logging.DEBUG)
    finally:
        root.setLevel(previous)
