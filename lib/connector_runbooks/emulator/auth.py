"""Who may use the emulator, and the message encryption NTLM brings.

Accounts live in an NTLM user file, one ``DOMAIN:USER:PASSWORD`` line per account, which is
the file pyspnego's NTLM acceptor reads through the ``NTLM_USER_FILE`` environment variable.
Basic authentication checks the same accounts. Only throwaway accounts belong in it: the
emulator exists so runbooks can be tried before touching production.

NTLM over HTTP also encrypts every message with the security context it sets up. That context
belongs to one TCP connection, as on a real server: a new connection starts a new handshake.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import logging
import os
import re
import struct
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import spnego

logger = logging.getLogger(__name__)

SPNEGO_ENCRYPTED = "application/HTTP-SPNEGO-session-encrypted"
BOUNDARY = "Encrypted Boundary"
ENCRYPTED_CONTENT_TYPE = f'multipart/encrypted;protocol="{SPNEGO_ENCRYPTED}";boundary="{BOUNDARY}"'

# pyspnego reads NTLM_USER_FILE from the process environment whenever an acceptor starts or
# steps. Emulators in one process (tests) each have their own file, so the variable is set
# only around those calls, under one lock.
_ENVIRONMENT_LOCK = threading.Lock()


def split_user(name: str) -> tuple[str, str]:
    """``CORP\\alice`` → (``CORP``, ``alice``); ``alice@corp`` and ``alice`` → ('', name)."""
    domain, sep, user = name.partition("\\")
    return (domain, user) if sep else ("", name)


@dataclass(frozen=True)
class Account:
    domain: str
    user: str
    password: str

    @property
    def name(self) -> str:
        return f"{self.domain}\\{self.user}" if self.domain else self.user

    def __repr__(self) -> str:
        return f"Account({self.name!r})"


class Accounts:
    """The accounts one emulator accepts, kept in an NTLM user file.

    Args:
        path: the NTLM user file.
        owned: whether the file was written for this emulator, and is removed by
            :meth:`discard`.
    """

    def __init__(self, path: Path, *, owned: bool = False) -> None:
        self.path = Path(path)
        self.owned = owned

    @classmethod
    def from_users(cls, users: dict[str, str]) -> Accounts:
        """Write ``users`` (``DOMAIN\\USER`` or ``USER`` → password) into a private file."""
        folder = Path(tempfile.mkdtemp(prefix="connector-runbooks-emulator-"))
        path = folder / "ntlm-users"
        lines = []
        for name, password in users.items():
            domain, user = split_user(name)
            if ":" in user or ":" in domain or "\n" in password:
                raise ValueError(
                    f"account {name!r}: names cannot contain ':' nor passwords newlines"
                )
            lines.append(f"{domain}:{user}:{password}")
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write("\n".join(lines) + "\n")
        return cls(path, owned=True)

    @classmethod
    def from_environment(cls) -> Accounts | None:
        """The file named by ``NTLM_USER_FILE``, when it is set and exists."""
        value = os.environ.get("NTLM_USER_FILE")
        return cls(Path(value)) if value and Path(value).is_file() else None

    def _read(self) -> list[Account]:
        accounts = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            parts = line.split(":")
            # Three fields is the DOMAIN:USER:PASSWORD form; hash lines serve NTLM only.
            if len(parts) == 3 and parts[1]:
                accounts.append(Account(parts[0], parts[1], parts[2]))
        return accounts

    def names(self) -> list[str]:
        return [a.name for a in self._read()]

    def check_basic(self, name: str, password: str) -> str | None:
        """The account name when ``name`` and ``password`` match an account, else None."""
        domain, user = split_user(name)
        if "@" in user and not domain:
            user, _, domain = user.partition("@")
        found = None
        for account in self._read():
            if account.user.lower() != user.lower():
                continue
            if domain and account.domain and domain.lower() != account.domain.lower():
                continue
            if hmac.compare_digest(account.password.encode(), password.encode()):
                found = account.name
        return found

    @contextlib.contextmanager
    def as_ntlm_user_file(self) -> Iterator[None]:
        """Point pyspnego at this file for the duration of the block."""
        with _ENVIRONMENT_LOCK:
            previous = os.environ.get("NTLM_USER_FILE")
            os.environ["NTLM_USER_FILE"] = str(self.path)
            try:
                yield
            finally:
                if previous is None:
                    os.environ.pop("NTLM_USER_FILE", None)
                else:
                    os.environ["NTLM_USER_FILE"] = previous

    def discard(self) -> None:
        """Remove the file when this emulator wrote it."""
        if self.owned:
            self.path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                self.path.parent.rmdir()


def parse_basic(header: str) -> tuple[str, str] | None:
    """The user and password of an ``Authorization: Basic`` header, or None."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def negotiate_token(header: str) -> bytes | None:
    """The token of an ``Authorization: Negotiate …`` (or NTLM) header, or None."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() not in ("negotiate", "ntlm") or not value.strip():
        return None
    try:
        return base64.b64decode(value.strip())
    except ValueError:
        return None


class AuthenticationFailed(Exception):
    """The client's token or credentials were refused."""


class NegotiateAcceptor:
    """The server side of NTLM (through Negotiate) for one TCP connection.

    Args:
        accounts: the accounts whose passwords the acceptor checks.
    """

    def __init__(self, accounts: Accounts) -> None:
        self.accounts = accounts
        self.context: spnego.ContextProxy | None = None

    @property
    def complete(self) -> bool:
        return self.context is not None and self.context.complete

    @property
    def user(self) -> str:
        return str(self.context.client_principal) if self.complete else ""

    def step(self, token: bytes) -> bytes | None:
        """Take the client's token; return the token to answer with, if any.

        Raises:
            AuthenticationFailed: the account is unknown or the password wrong.
        """
        if self.context is None or self.context.complete:
            with self.accounts.as_ntlm_user_file():
                self.context = spnego.server(
                    protocol="negotiate", options=spnego.NegotiateOptions.wrapping_winrm
                )
        try:
            with self.accounts.as_ntlm_user_file():
                return self.context.step(token)
        except spnego.exceptions.SpnegoError as error:
            self.context = None
            # The error names the failure (bad password, unknown user), never the password.
            raise AuthenticationFailed(str(error).split("\n")[0]) from None

    def unwrap(self, body: bytes, content_type: str) -> bytes:
        """The SOAP envelope inside a ``multipart/encrypted`` request body."""
        boundary = re.search(r'boundary="?([^";]+)"?', content_type)
        marker = re.escape((boundary.group(1) if boundary else BOUNDARY).encode())
        parts = [p for p in re.split(rb"--\s*" + marker + rb"(?:--)?\r\n", body) if p]
        plain = b""
        for header, payload in zip(parts[0::2], parts[1::2]):
            length = re.search(rb"Length=(\d+)", header)
            payload = payload.replace(b"\tContent-Type: application/octet-stream\r\n", b"", 1)
            signature_length = struct.unpack("<i", payload[:4])[0]
            signature = payload[4:4 + signature_length]
            data = self.context.unwrap_winrm(signature, payload[4 + signature_length:])
            if length and int(length.group(1)) != len(data):
                raise AuthenticationFailed("decrypted length does not match OriginalContent")
            plain += data
        return plain

    def wrap(self, data: bytes) -> bytes:
        """``data`` as a ``multipart/encrypted`` body, in the layout WinRM uses."""
        signature, encrypted, padding = self.context.wrap_winrm(data)
        head = "\r\n".join([
            f"--{BOUNDARY}",
            f"\tContent-Type: {SPNEGO_ENCRYPTED}",
            "\tOriginalContent: type=application/soap+xml;charset=UTF-8;"
            f"Length={len(data) + padding}",
            f"--{BOUNDARY}",
            "\tContent-Type: application/octet-stream",
            "",
        ]).encode()
        tail = f"--{BOUNDARY}--\r\n".encode()
        return head + struct.pack("<i", len(signature)) + signature + encrypted + tail
