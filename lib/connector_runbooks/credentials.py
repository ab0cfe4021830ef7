"""Where the password for a remote session comes from, so it never appears in a notebook.

A password is never a parameter of a runbook, a cell or a function here. It comes, in order,
from:

1. the environment variable ``CONNECTOR_RUNBOOKS_PASSWORD`` (for schedulers and CI),
2. the system keyring through the ``keyring`` library: service ``connector-runbooks``, key the
   user name (``keyring set connector-runbooks 'CORP\\admin'`` stores it),
3. an interactive prompt, only when a person can answer it: a terminal, or a notebook kernel
   whose front end accepts input. A notebook run by papermill or a scheduler never prompts.

Kerberos needs no password at all when the user has a ticket (``kinit``); Negotiate and
Kerberos therefore fall back to the ticket cache instead of prompting when no user name is
given.
"""

from __future__ import annotations

import getpass
import logging
import os
import sys
from dataclasses import dataclass, field

from .errors import AuthenticationError

logger = logging.getLogger(__name__)

# pyspnego logs whole NTLM and Kerberos messages at DEBUG. The challenge and the authenticate
# message together allow an offline attack on the password, so they never reach a log, even
# when a user turns on DEBUG for everything. Every path that signs in (WinRM, SMB) imports
# this module.
for _name in ("spnego", "pypsrp.spnego"):
    logging.getLogger(_name).setLevel(max(logging.getLogger(_name).level, logging.INFO))

USERNAME_ENV = "CONNECTOR_RUNBOOKS_USERNAME"
PASSWORD_ENV = "CONNECTOR_RUNBOOKS_PASSWORD"
KEYRING_SERVICE = "connector-runbooks"

#: Methods that can fall back to the Kerberos ticket cache (or the logged-on user's token).
TICKET_METHODS = frozenset({"kerberos", "negotiate"})
#: Methods that need a password and cannot work without one.
PASSWORD_METHODS = frozenset({"ntlm", "basic"})


class Secret:
    """A password that stays out of every repr, str, log line and record.

    Args:
        value: the password.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The password itself, for the one call that needs it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class Credentials:
    """Who the session runs as.

    Args:
        username: the account, for example ``CORP\\admin``; None for the ticket cache or a
            client certificate.
        password: the password, or None when the ticket cache or a certificate is used.
        source: where the password came from (``environment``, ``keyring``, ``prompt``), or
            how the session authenticates without one (``ticket cache``, ``certificate``).
    """

    username: str | None
    password: Secret | None = field(default=None, repr=False)
    source: str = "ticket cache"

    def describe(self) -> str:
        """A line safe for logs and records."""
        return f"{self.username or 'the current ticket'} (credentials from {self.source})"


def resolve_username(username: str | None = None) -> str | None:
    """The given user name, or ``CONNECTOR_RUNBOOKS_USERNAME``, or None."""
    return username or os.environ.get(USERNAME_ENV) or None


def _from_keyring(username: str) -> str | None:
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:  # pragma: no cover - keyring is a dependency
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, username)
    except KeyringError as error:
        logger.debug("keyring unavailable: %s", type(error).__name__)
    except Exception as error:  # noqa: BLE001 - a broken backend must not stop the run
        logger.debug("keyring backend failed: %s", type(error).__name__)
    return None


def can_prompt() -> bool:
    """Whether a person can answer a password prompt now.

    True in a terminal, and in a Jupyter kernel whose front end accepts input; False under
    papermill, schedulers and CI, where a prompt would hang or fail.
    """
    stdin = sys.stdin
    if stdin is not None and hasattr(stdin, "isatty") and stdin.isatty():
        return True
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    # ipykernel sets this from the front end's allow_stdin; papermill runs with it False.
    return bool(getattr(kernel, "_allow_stdin", False))


def resolve_password(
    username: str, *, interactive: bool | None = None
) -> tuple[Secret, str] | None:
    """The password of ``username`` and where it came from, or None when there is none.

    Args:
        username: the account whose password is wanted.
        interactive: allow a prompt; by default only when :func:`can_prompt` says a person
            is there.
    """
    value = os.environ.get(PASSWORD_ENV)
    if value:
        return Secret(value), "environment"
    value = _from_keyring(username)
    if value:
        return Secret(value), "keyring"
    if interactive if interactive is not None else can_prompt():
        value = getpass.getpass(f"Password for {username}: ")
        if value:
            return Secret(value), "prompt"
    return None


def credentials_for(
    auth: str, username: str | None = None, *, interactive: bool | None = None
) -> Credentials:
    """The credentials a session with ``auth`` runs with.

    Args:
        auth: ``kerberos``, ``negotiate``, ``ntlm``, ``basic`` or ``certificate``.
        username: the account; ``CONNECTOR_RUNBOOKS_USERNAME`` when not given.
        interactive: allow a password prompt (see :func:`resolve_password`).

    Raises:
        AuthenticationError: the method needs a user name or password and none was found.
    """
    auth = auth.lower()
    if auth == "certificate":
        return Credentials(None, None, "certificate")
    username = resolve_username(username)
    if username is None:
        if auth in TICKET_METHODS:
            return Credentials(None, None, "ticket cache")
        raise AuthenticationError(
            f"{auth} authentication needs a user name: pass username= or set {USERNAME_ENV}"
        )
    # With Kerberos a user name alone selects a ticket from the cache; ask for a password only
    # when the method cannot work without one or one is already at hand.
    found = resolve_password(
        username, interactive=interactive if auth in PASSWORD_METHODS else False
    )
    if found is not None:
        return Credentials(username, found[0], found[1])
    if auth in TICKET_METHODS:
        return Credentials(username, None, "ticket cache")
    raise AuthenticationError(
        f"no password for {username}: set {PASSWORD_ENV}, store it with "
        f"`keyring set {KEYRING_SERVICE} {username}`, or run interactively to be asked"
    )
