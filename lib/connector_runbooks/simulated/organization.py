"""The simulated Exchange organization: cmdlets in, Exchange's results and errors out.

It plays Exchange strictly, following ``exchange-connectors.md``: parameter binding with
PowerShell's texts, Exchange's validation and conflict rules, and results in the wire shapes
of a real server (section 9.3). Its state lives in a JSON file that is read again on every
call and written back atomically only when a call succeeds and changed something, so a
notebook kernel and a test process see the same organization and a failed call changes
nothing. Each call holds the state file's lock from reading to writing, so concurrent runs
(an in-process run and the emulator, two scheduled runs) never lose each other's changes.

Fault switches for tests and demonstrations are Python methods, not cmdlets; Exchange has no
such cmdlets and the library must never find them through the shell.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import RunbookError

# The cmdlet modules register themselves on import.
from . import queues, receive, send, servers  # noqa: F401
from .binding import bind
from .demo import demo_state
from .failures import CmdletFailure, TerminatingFailure
from .registry import CMDLETS, Call, CmdletSpec
from .state import OrgState, load_state, locked, save_state
from .values import format_datetime
from .wire import CommandResult, WireError

logger = logging.getLogger(__name__)

#: Environment variable naming the state file, used when no path is given.
STATE_ENV = "CONNECTOR_RUNBOOKS_STATE"

#: How long before being switched on a port-25 fault is taken to have started, so that the
#: queues it causes hold messages of a realistic age.
DEFAULT_FAULT_AGE = dt.timedelta(hours=3)


def default_state_path() -> Path:
    """Where the simulated organization lives: ``$CONNECTOR_RUNBOOKS_STATE``, else
    ``~/.connector-runbooks/simulated-organization.json``."""
    configured = os.environ.get(STATE_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".connector-runbooks" / "simulated-organization.json"


def reset_state(path: Path | str | None = None) -> Path:
    """Restore the demo organization in ``path`` (default: :func:`default_state_path`).

    Returns:
        The state file written.
    """
    target = Path(path) if path else default_state_path()
    with locked(target):
        save_state(target, demo_state())
    logger.info("simulated organization reset to the demo organization in %s", target)
    return target


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


class Organization:
    """One simulated Exchange organization, stored in ``state_path``.

    Args:
        state_path: the JSON state file; created with the demo organization when missing.
        clock: returns the current time (aware, UTC); tests pass a fixed one.
    """

    def __init__(self, state_path: Path | str,
                 clock: Callable[[], dt.datetime] | None = None) -> None:
        self.state_path = Path(state_path)
        self.clock = clock or _utc_now
        if not self.state_path.exists():
            with locked(self.state_path):
                # Another run may have created it while this one waited for the lock.
                if not self.state_path.exists():
                    save_state(self.state_path, demo_state())
                    logger.info("simulated organization created with the demo organization "
                                "in %s", self.state_path)

    # -- cmdlets -------------------------------------------------------------------------------

    def execute(self, cmdlet: str, parameters: dict[str, Any]) -> CommandResult:
        """Run one cmdlet with named parameters, as the remote endpoint would.

        Args:
            cmdlet: the cmdlet name, any letter case.
            parameters: parameter name (any letter case) → value. Multi-valued parameters
                take a value, a list, or a dict with ``Add``/``Remove`` keys.

        Returns:
            The output objects, error records and warnings. Exchange validation errors are
            non-terminating records; an unknown command or a binding error is terminating.
        """
        spec = CMDLETS.get(cmdlet.lower())
        if spec is None:
            return CommandResult(errors=[WireError(
                f"The term '{cmdlet}' is not recognized as the name of a cmdlet, function, "
                "script file, or operable program. Check the spelling of the name, or if a path "
                "was included, verify that the path is correct and try again.",
                cmdlet=cmdlet, category="ObjectNotFound", reason="CommandNotFoundException",
                target=cmdlet, fully_qualified_error_id="CommandNotFoundException",
                terminating=True)])

        with locked(self.state_path):
            return self._run(spec, parameters)

    def _run(self, spec: CmdletSpec, parameters: dict[str, Any]) -> CommandResult:
        """Read the state, run the cmdlet, write the state back if it changed; under the lock."""
        data = load_state(self.state_path)
        state = OrgState(data)
        now = self.clock()
        call: Call | None = None
        try:
            bound = bind(list(spec.parameters), dict(parameters))
            call = Call(spec.name, state, bound, now)
            before = json.dumps(data, sort_keys=True)
            spec.handler(call)
        except CmdletFailure as failure:
            logger.debug("%s failed: %s", spec.name, failure.reason)
            return CommandResult(errors=[self._exchange_error(spec, state, now, failure)],
                                 warnings=list(call.warnings) if call else [])
        except TerminatingFailure as failure:
            return CommandResult(errors=[WireError(
                failure.message, cmdlet=spec.name, category=failure.category,
                reason=failure.reason, target=failure.target,
                fully_qualified_error_id=f"{failure.error_id},{spec.name}", terminating=True)],
                warnings=list(call.warnings) if call else [])

        if call.get("WhatIf"):
            return CommandResult(warnings=list(call.warnings))
        if spec.mutating and json.dumps(data, sort_keys=True) != before:
            save_state(self.state_path, data)
        return CommandResult(output=list(call.output), warnings=list(call.warnings))

    @staticmethod
    def _exchange_error(spec: CmdletSpec, state: OrgState, now: dt.datetime,
                        failure: CmdletFailure) -> WireError:
        """An Exchange error record with the on-premises FullyQualifiedErrorId (9.4)."""
        # Exchange's eight hex digits identify where in its code the error was raised; a hash
        # of cmdlet and exception keeps them stable for one kind of error.
        location = zlib.crc32(f"{spec.name}|{failure.reason}".encode()) & 0xFFFFFFFF
        error_id = (
            f"[Server={state.endpoint_server},RequestId={uuid.uuid4()},"
            f"TimeStamp={format_datetime(now)}] [FailureCategory=Cmdlet-{failure.reason}] "
            f"{location:08X},{spec.task_class}"
        )
        return WireError(failure.message, cmdlet=spec.name, category=failure.category,
                         reason=failure.reason, target=failure.target,
                         fully_qualified_error_id=error_id)

    # -- fault switches (Python only, never cmdlets) ----------------------------------------

    def set_port25_blocked(self, server: str, blocked: bool, *,
                           since: dt.datetime | None = None) -> None:
        """Make ``server`` unable (or able again) to reach any host on port 25.

        While blocked, mail that the server routes over a Send connector sits in a Retry queue
        with the 441 4.4.1 error Exchange writes (see Get-Queue).

        Args:
            server: a server name or FQDN.
            blocked: True to block, False to clear.
            since: when the blockage started; by default three hours before now, so that the
                queued messages have a realistic age.

        Raises:
            RunbookError: no such server.
        """
        with locked(self.state_path):
            data = load_state(self.state_path)
            state = OrgState(data)
            host = state.server(server)
            if host is None:
                raise RunbookError(f"no Exchange server '{server}' in the simulated organization")
            faults = state.faults.setdefault("Port25Blocked", {})
            if blocked:
                start = since or (self.clock() - DEFAULT_FAULT_AGE)
                faults[host["Name"]] = start.astimezone(dt.timezone.utc).isoformat(
                    timespec="seconds")
            else:
                faults.pop(host["Name"], None)
            save_state(self.state_path, data)
        logger.info("port 25 %s on %s", "blocked" if blocked else "open", host["Name"])

    def port25_blocked(self) -> dict[str, dt.datetime]:
        """The servers that cannot reach port 25, with the time the blockage started."""
        with locked(self.state_path):
            data = load_state(self.state_path)
        faults = OrgState(data).faults.get("Port25Blocked", {})
        return {name: dt.datetime.fromisoformat(since) for name, since in faults.items()}

    def reset(self) -> None:
        """Restore the demo organization in this state file."""
        reset_state(self.state_path)
