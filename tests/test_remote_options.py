"""Which targets and options the remote shell accepts, before anything is sent."""

from __future__ import annotations

import pytest
from connector_runbooks import credentials
from connector_runbooks.errors import InputError
from connector_runbooks.remote import Endpoint, RemoteShell
from connector_runbooks.shell import connect

THROWAWAY = "throwaway-password-for-tests"


@pytest.fixture(autouse=True)
def password(monkeypatch):
    monkeypatch.setenv(credentials.PASSWORD_ENV, THROWAWAY)
    monkeypatch.setattr(credentials, "can_prompt", lambda: False)


@pytest.mark.parametrize("target, expected", [
    ("https://ex01.corp.example.com/PowerShell/", ("ex01.corp.example.com", 443, "PowerShell/",
                                                   True)),
    ("http://ex01.corp.example.com/PowerShell/", ("ex01.corp.example.com", 80, "PowerShell/",
                                                  False)),
    ("http://127.0.0.1:5985/PowerShell/", ("127.0.0.1", 5985, "PowerShell/", False)),
    ("https://ex01.corp.example.com", ("ex01.corp.example.com", 443, "PowerShell/", True)),
])
def test_targets_name_exchanges_iis_endpoint(target, expected):
    endpoint = Endpoint.parse(target)

    assert (endpoint.server, endpoint.port, endpoint.path, endpoint.ssl) == expected


def test_kerberos_over_https_with_validation_is_the_default():
    shell = RemoteShell.from_target("https://ex01.corp.example.com/PowerShell/")

    assert (shell.auth, shell.cert_validation, shell.configuration_name) == (
        "kerberos", True, "Microsoft.Exchange")


def test_a_ca_bundle_replaces_the_default_trust():
    shell = RemoteShell.from_target("https://ex01.corp.example.com/PowerShell/",
                                    ca_bundle="/etc/pki/corp-ca.pem")

    assert shell.cert_validation == "/etc/pki/corp-ca.pem"


def test_plain_http_encrypts_messages_with_ntlm():
    shell = RemoteShell.from_target("http://ex01.corp.example.com/PowerShell/", auth="ntlm",
                                    username="CORP\\admin")

    assert shell.encryption == "auto"
    assert shell.transcript.session["encryption"] == "message"


def test_basic_over_http_is_refused():
    with pytest.raises(InputError, match="clear text"):
        RemoteShell.from_target("http://ex01.corp.example.com/PowerShell/", auth="basic",
                                username="CORP\\admin", allow_insecure_basic=True)


def test_basic_over_http_is_allowed_to_loopback_only_when_asked():
    with pytest.raises(InputError):
        RemoteShell.from_target("http://127.0.0.1:5985/PowerShell/", auth="basic",
                                username="LAB\\tester")

    shell = RemoteShell.from_target("http://127.0.0.1:5985/PowerShell/", auth="basic",
                                    username="LAB\\tester", allow_insecure_basic=True)

    assert shell.encryption == "never"


def test_certificate_authentication_needs_https():
    with pytest.raises(InputError, match="HTTPS"):
        RemoteShell.from_target("http://ex01.corp.example.com/PowerShell/", auth="certificate")


def test_a_password_is_never_an_option():
    with pytest.raises(InputError) as raised:
        RemoteShell.from_target("https://ex01.corp.example.com/PowerShell/", auth="ntlm",
                                username="CORP\\admin", password="visible-secret")

    assert "visible-secret" not in str(raised.value)


def test_a_target_carrying_credentials_is_refused_without_repeating_them():
    with pytest.raises(InputError) as raised:
        Endpoint.parse("https://admin:visible-secret@ex01.corp.example.com/PowerShell/")

    assert "visible-secret" not in str(raised.value)


def test_unknown_options_are_named():
    with pytest.raises(InputError, match="operation_timout"):
        RemoteShell.from_target("https://ex01.corp.example.com/PowerShell/", operation_timout=5)


def test_options_given_as_none_count_as_not_given():
    shell = RemoteShell.from_target("https://ex01.corp.example.com/PowerShell/", username=None,
                                    state_path=None)

    assert shell.credentials.source == "ticket cache"


def test_the_read_timeout_must_exceed_the_operation_timeout():
    with pytest.raises(InputError, match="read_timeout"):
        RemoteShell.from_target("https://ex01.corp.example.com/PowerShell/",
                                operation_timeout=30, read_timeout=30)


def test_connect_opens_a_remote_shell_for_http_targets_without_contacting_it():
    shell = connect("https://ex01.corp.example.com/PowerShell/", auth="negotiate")

    assert shell.transport == "remote"
    assert shell.runspace_pool_ids == []
