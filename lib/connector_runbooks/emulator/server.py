"""The HTTP side of the emulator: keep-alive connections, authentication, encryption, faults.

:func:`serve` starts an emulator in a background thread and returns it; ``with serve(...) as
emulator:`` stops it at the end of the block. It listens on loopback only, because Basic
authentication without encryption, which it offers for tests, sends passwords in clear text.
"""

from __future__ import annotations

import base64
import ipaddress
import logging
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .auth import (
    ENCRYPTED_CONTENT_TYPE,
    Accounts,
    AuthenticationFailed,
    NegotiateAcceptor,
    negotiate_token,
    parse_basic,
)
from .faults import Fault, Faults
from .pipeline import ConnectionFault, Organization, PipelineRunner
from .service import Answer, WSManService

logger = logging.getLogger(__name__)

AUTH_METHODS = ("basic", "ntlm")
PATHS = ("/powershell", "/wsman")
REALM = "connector-runbooks emulator"
NO_CREDENTIALS = "no credentials offered"


class _DropConnection(Exception):
    """Close the connection without answering (a drop fault)."""


class _Handler(BaseHTTPRequestHandler):
    """One keep-alive TCP connection; NTLM's security context lives as long as it does."""

    protocol_version = "HTTP/1.1"
    server: _HTTPServer
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        self.negotiate: NegotiateAcceptor | None = None
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        # The request line only: headers (and so Authorization) are never logged.
        logger.debug("%s %s", self.address_string(), format % args)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        emulator = self.server.emulator
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if urlsplit(self.path).path.rstrip("/").lower() not in PATHS:
            self._send(HTTPStatus.NOT_FOUND, b"")
            return
        if emulator.faults.take("refuse-auth") is not None:
            logger.info("fault: refusing authentication")
            self._challenge()
            return
        try:
            user = self._authenticate()
        except AuthenticationFailed as error:
            # The first request of every connection comes without credentials; only real
            # refusals are worth an info line.
            logger.log(logging.DEBUG if error.args[0] == NO_CREDENTIALS else logging.INFO,
                       "authentication refused: %s", error)
            self._challenge()
            return
        if user is None:
            return  # a 401 with the next handshake token has been sent
        if not body:
            # pypsrp's empty POST that only sets up the security context.
            self._send(HTTPStatus.OK, b"")
            return
        content_type = self.headers.get("Content-Type", "")
        encrypted = content_type.startswith("multipart/encrypted")
        if encrypted:
            if self.negotiate is None or not self.negotiate.complete:
                self._challenge()
                return
            try:
                body = self.negotiate.unwrap(body, content_type)
            except Exception as error:  # noqa: BLE001 - any decryption failure is a 400
                logger.warning("cannot decrypt a request: %s", type(error).__name__)
                self._send(HTTPStatus.BAD_REQUEST, b"")
                return
        try:
            answer = emulator.service.handle(body)
        except ConnectionFault as fault:
            self._drop(fault.fault)
            return
        try:
            self._apply_fault(answer.fault)
        except _DropConnection:
            return
        self._answer(answer, encrypted)

    # --- authentication --------------------------------------------------------------------

    def _authenticate(self) -> str | None:
        """The authenticated user, or None after sending a handshake 401.

        Raises:
            AuthenticationFailed: wrong credentials, or no method offered.
        """
        emulator = self.server.emulator
        header = self.headers.get("Authorization", "")
        token = negotiate_token(header) if "ntlm" in emulator.auth else None
        if token is not None:
            if self.negotiate is None:
                self.negotiate = NegotiateAcceptor(emulator.accounts)
            answer = self.negotiate.step(token)
            if not self.negotiate.complete:
                self._send(HTTPStatus.UNAUTHORIZED, b"", {
                    "WWW-Authenticate": "Negotiate " + base64.b64encode(answer or b"").decode()
                })
                return None
            logger.debug("NTLM: %s authenticated", self.negotiate.user)
            return self.negotiate.user
        if self.negotiate is not None and self.negotiate.complete and not header:
            return self.negotiate.user
        basic = parse_basic(header) if "basic" in emulator.auth else None
        if basic is not None:
            user = emulator.accounts.check_basic(*basic)
            if user is None:
                raise AuthenticationFailed(f"Basic: wrong user name or password for {basic[0]}")
            return user
        raise AuthenticationFailed(NO_CREDENTIALS if not header else "method not offered")

    def _challenge(self) -> None:
        emulator = self.server.emulator
        headers = []
        if "ntlm" in emulator.auth:
            headers.append(("WWW-Authenticate", "Negotiate"))
        if "basic" in emulator.auth:
            headers.append(("WWW-Authenticate", f'Basic realm="{REALM}"'))
        self.negotiate = None
        self._send(HTTPStatus.UNAUTHORIZED, b"", headers)

    # --- answers and faults ----------------------------------------------------------------

    def _apply_fault(self, fault: Fault | None) -> None:
        if fault is None:
            return
        if fault.kind == "drop":
            self._drop(fault)
            raise _DropConnection()
        if fault.kind == "delay":
            logger.info("fault: holding the answer for %.1f s", fault.seconds)
            self.server.emulator.stopping.wait(fault.seconds)

    def _drop(self, fault: Fault) -> None:
        logger.info("fault: dropping the connection during %s", fault.cmdlet or "a call")
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _answer(self, answer: Answer, encrypted: bool) -> None:
        body = answer.body
        content_type = "application/soap+xml;charset=UTF-8"
        if encrypted and body:
            body = self.negotiate.wrap(body)
            content_type = ENCRYPTED_CONTENT_TYPE
        self._send(answer.status, body, {"Content-Type": content_type})

    def _send(self, status: int, body: bytes, headers: Any = ()) -> None:
        try:
            self.send_response(status)
            for name, value in headers.items() if isinstance(headers, dict) else headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                self.wfile.write(body)
        except OSError as error:
            logger.debug("client went away before the answer: %s", error)
            self.close_connection = True


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: EmulatorServer) -> None:
        self.emulator = emulator
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.add(connection)

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.discard(connection)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class EmulatorServer:
    """A running emulator.

    Args:
        host: the loopback address to listen on.
        port: the TCP port; 0 picks a free one.
        organization: runs the cmdlets.
        accounts: the accounts accepted.
        auth: the authentication methods offered, from ``basic`` and ``ntlm``.
        faults: faults to inject; tests add to it while the emulator runs.
        path: the URL path advertised in :attr:`url` (``/wsman`` is served too).
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        organization: Organization,
        accounts: Accounts,
        auth: tuple[str, ...] = AUTH_METHODS,
        faults: Faults | None = None,
        path: str = "/PowerShell/",
    ) -> None:
        if not ipaddress.ip_address(socket.gethostbyname(host)).is_loopback:
            raise ValueError(f"the emulator listens on loopback only, not {host}")
        unknown = set(auth) - set(AUTH_METHODS)
        if unknown or not auth:
            raise ValueError(
                f"auth {sorted(unknown) or auth}: choose from {', '.join(AUTH_METHODS)}"
            )
        self.auth = tuple(auth)
        self.accounts = accounts
        self.faults = faults if faults is not None else Faults()
        self.stopping = threading.Event()
        self._http = _HTTPServer((host, port), self)
        self.host, self.port = self._http.server_address[:2]
        self.path = "/" + path.strip("/") + "/"
        self.url = f"http://{self.host}:{self.port}{self.path}"
        self.organization = organization
        self.service = WSManService(
            PipelineRunner(organization, self.faults, threading.Lock()),
            self.url,
            stopping=self.stopping,
        )
        self._thread: threading.Thread | None = None
        self._stop_lock = threading.RLock()
        self._closed = False

    def start(self) -> EmulatorServer:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self._http.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"emulator:{self.port}", daemon=True,
        )
        self._thread.start()
        logger.info("emulator serving %s (auth: %s)", self.url, ", ".join(self.auth))
        return self

    def stop(self) -> None:
        """Stop serving, end open connections and long polls, and remove files it wrote.

        Safe to call more than once, and from several threads at once.
        """
        self.stopping.set()
        with self._stop_lock:
            if self._thread is not None:
                self._http.shutdown()
                self._thread.join(timeout=5)
                self._thread = None
            self._close()

    def _close(self) -> None:
        self.stopping.set()
        if self._closed:
            return
        self._closed = True
        self.service.close()
        self._http.close_connections()
        self._http.server_close()
        self.accounts.discard()

    def __enter__(self) -> EmulatorServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(
    host: str = "127.0.0.1",
    port: int = 5985,
    *,
    state_path: Path | str | None = None,
    auth: tuple[str, ...] | list[str] = AUTH_METHODS,
    users: dict[str, str] | None = None,
    faults: Faults | list[Fault] | None = None,
    organization: Organization | None = None,
    path: str = "/PowerShell/",
) -> EmulatorServer:
    """Start an emulator of Exchange's remote PowerShell endpoint in a background thread.

    Args:
        host: loopback address to listen on.
        port: TCP port; 0 picks a free one (read it back from ``.port`` or ``.url``).
        state_path: the simulated organization's state file; the default demo organization
            when None.
        auth: methods offered: ``basic`` (no encryption; tests only) and ``ntlm`` (with
            message encryption).
        users: accounts as ``DOMAIN\\USER`` → password, written to a private NTLM user file
            that is removed on stop. When None, the file named by ``NTLM_USER_FILE``.
        faults: faults to inject (see :mod:`.faults`).
        organization: what runs the cmdlets; the simulated organization of ``state_path``
            when None.
        path: the URL path of :attr:`EmulatorServer.url`.

    Returns:
        The running emulator; ``.url`` is the target a runbook uses, ``.stop()`` ends it.
    """
    if users is not None:
        accounts = Accounts.from_users(users)
    else:
        found = Accounts.from_environment()
        if found is None:
            raise ValueError("no accounts: pass users, or set NTLM_USER_FILE to a file of "
                             "DOMAIN:USER:PASSWORD lines")
        accounts = found
    if organization is None:
        from ..simulated.organization import Organization as SimulatedOrganization
        from ..simulated.organization import default_state_path

        organization = SimulatedOrganization(
            Path(state_path) if state_path else default_state_path()
        )
    if not isinstance(faults, Faults):
        faults = Faults(faults)
    try:
        server = EmulatorServer(host, port, organization=organization, accounts=accounts,
                                auth=tuple(auth), faults=faults, path=path)
    except BaseException:
        accounts.discard()
        raise
    return server.start()
