"""``connector-runbooks emulator``: serve the simulated organization until Ctrl-C.

Accounts come from ``--user`` (its password from ``CONNECTOR_RUNBOOKS_PASSWORD``, the keyring,
or a prompt, never from the command line, where other users of the machine could read it) or
from the NTLM user file named by ``NTLM_USER_FILE``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from typing import TextIO

from ..credentials import resolve_password
from .faults import Fault, parse_fault
from .server import AUTH_METHODS, EmulatorServer, serve


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="connector-runbooks emulator",
        description="Serve the simulated Exchange organization over WinRM/PSRP on loopback, "
        "so runbooks can be tried against a real remoting endpoint.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5985, help="TCP port (default 5985; 0: any)")
    parser.add_argument("--path", default="/PowerShell/", help="URL path (default /PowerShell/)")
    parser.add_argument("--state", help="state file of the simulated organization (default: "
                        "$CONNECTOR_RUNBOOKS_STATE or ~/.connector-runbooks/…)")
    parser.add_argument("--auth", default=",".join(AUTH_METHODS),
                        help="methods offered, comma separated: basic (no encryption), ntlm "
                        "(message encryption); default both")
    parser.add_argument("--user", help="the account to accept, DOMAIN\\NAME; its password from "
                        "CONNECTOR_RUNBOOKS_PASSWORD, the keyring or a prompt. Without it, the "
                        "DOMAIN:USER:PASSWORD lines of $NTLM_USER_FILE")
    faults = parser.add_argument_group("fault injection (each fires once unless said otherwise)")
    faults.add_argument("--drop-on", metavar="CMDLET[:after]", action="append", default=[],
                        help="drop the connection when CMDLET arrives (after running it with "
                        ":after)")
    faults.add_argument("--delay-on", metavar="CMDLET:SECONDS", action="append", default=[],
                        help="run CMDLET, then hold the answer SECONDS")
    faults.add_argument("--error-on", metavar="CMDLET", action="append", default=[],
                        help="answer CMDLET with a non-terminating error record")
    faults.add_argument("--refuse-auth", action="store_true",
                        help="refuse every authentication attempt")
    return parser


def main_emulator(
    argv: list[str] | None = None,
    *,
    out: TextIO | None = None,
    on_ready: Callable[[EmulatorServer], None] | None = None,
) -> int:
    """Run the emulator from command-line arguments until interrupted.

    Args:
        argv: the arguments after ``emulator``.
        out: where the one "serving" message goes (standard output by default).
        on_ready: called with the running emulator; its ``stop()`` ends this function too
            (tests use it).

    Returns:
        The exit status: 0 after Ctrl-C, 2 when it cannot start.
    """
    out = out or sys.stdout
    args = build_parser().parse_args(argv)
    try:
        faults: list[Fault] = [parse_fault("drop", s) for s in args.drop_on]
        faults += [parse_fault("delay", s) for s in args.delay_on]
        faults += [parse_fault("error", s) for s in args.error_on]
        if args.refuse_auth:
            faults.append(parse_fault("refuse-auth"))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    users = None
    if args.user:
        found = resolve_password(args.user)
        if found is None:
            print(f"error: no password for {args.user}: set CONNECTOR_RUNBOOKS_PASSWORD, use "
                  "the keyring, or run in a terminal to be asked", file=sys.stderr)
            return 2
        users = {args.user: found[0].reveal()}

    try:
        emulator = serve(args.host, args.port, state_path=args.state,
                         auth=tuple(a.strip() for a in args.auth.split(",") if a.strip()),
                         users=users, faults=faults, path=args.path)
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    auth = "ntlm" if "ntlm" in emulator.auth else "basic"
    user = args.user or (emulator.accounts.names() or ["DOMAIN\\USER"])[0]
    extra = ", allow_insecure_basic=True" if auth == "basic" else ""
    print(f"Serving the simulated organization on {emulator.url} "
          f"(auth: {', '.join(emulator.auth)}). Ctrl-C stops it.\n"
          f"A runbook reaches it with target={emulator.url!r} and options "
          f"auth={auth!r}, username={user!r}{extra}; the password comes from "
          "CONNECTOR_RUNBOOKS_PASSWORD or the keyring.", file=out, flush=True)
    if on_ready is not None:
        on_ready(emulator)
    previous = None
    if threading.current_thread() is threading.main_thread():
        # A service manager stops with SIGTERM; stopping properly removes the account file.
        previous = signal.signal(signal.SIGTERM, lambda *_: emulator.stopping.set())
    try:
        # Short waits keep Ctrl-C responsive on every platform.
        while not emulator.stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0
