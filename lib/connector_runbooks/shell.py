"""The one interface every transport implements, and the transcript of what was sent.

A shell runs one Exchange cmdlet with named parameters and returns plain records: dicts keyed
by Exchange's property names. It never sends script text, because Exchange's remote endpoint
runs in no-language mode and refuses it. Every call, successful or not, lands in the
transcript with its parameters (secrets redacted), start time, duration and outcome.

Transports register themselves with :func:`register_target`; :func:`connect` picks one by the
target's scheme, so notebooks never import a transport.
"""

from __future__ import annotations

import datetime as _dt
import logging
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import ExchangeError, OutcomeUnknown, RunbookError, TransportError

logger = logging.getLogger(__name__)

#: Verbs that change an organization. A shell refuses them outside :meth:`Shell.changes_allowed`,
#: which only the apply step opens.
MUTATING_VERBS = frozenset({"Set", "New", "Remove", "Add", "Enable", "Disable", "Retry", "Resume",
                            "Suspend"})

#: Multi-valued properties of existing connectors: only ever edited with Add/Remove.
MULTI_VALUED = frozenset({"RemoteIPRanges", "Bindings", "SmartHosts", "SourceTransportServers",
                          "AddressSpaces", "ConnectedDomains"})

#: Parameter names whose values are never written anywhere.
SECRET_NAME = re.compile(r"password|passwd|secret|token|credential|apikey|api_key", re.I)

REDACTED = "***redacted***"


def is_mutating(cmdlet: str) -> bool:
    """Whether a cmdlet changes state, judged by its verb as PowerShell names it."""
    return cmdlet.split("-", 1)[0].capitalize() in MUTATING_VERBS


def redact(parameters: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``parameters`` that is safe to log and record, at any depth."""
    return {name: _redacted(name, value) for name, value in parameters.items()}


def _redacted(name: Any, value: Any) -> Any:
    if SECRET_NAME.search(str(name)) or type(value).__name__ in {"PSCredential",
                                                                  "SecureString"}:
        return REDACTED
    if isinstance(value, dict):
        return redact(value)
    if isinstance(value, (list, tuple)):
        return [_redacted("", v) for v in value]
    if isinstance(value, str) and "://" in value:
        # a password written into a URL (http://user:secret@host/) is still a password
        return re.sub(r"(://[^/@:\s]*):[^/@\s]*@", r"\1:" + REDACTED + "@", value)
    return value


# ---------------------------------------------------------------------------------------------
# Values as PowerShell shows them


def _ps_literal(value: Any, *, expression: bool = False) -> str:
    """``value`` as PowerShell source. Inside ``@{...}`` PowerShell parses in expression mode,
    where a bare word is a command name, so every string there is quoted."""
    if value is None:
        return "$null"
    if isinstance(value, bool):
        return "$true" if value else "$false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)):
        return ",".join(_ps_literal(v, expression=expression) for v in value)
    if isinstance(value, dict):
        parts = [f"{key}={_ps_literal(v, expression=True)}" for key, v in value.items()]
        return "@{" + "; ".join(parts) + "}"
    text = str(value).replace("'", "''")
    bare = re.fullmatch(r"[A-Za-z_][\w.-]*", text) and not expression
    return text if bare else f"'{text}'"


def powershell_line(cmdlet: str, parameters: dict[str, Any]) -> str:
    """The call as a line a person can read and paste into the Exchange Management Shell.

    Switches given as ``True`` render as ``-Name``; ``Confirm=False`` as ``-Confirm:$false``.
    Secrets are redacted.
    """
    words = [cmdlet]
    for name, value in redact(parameters).items():
        if value is True:
            words.append(f"-{name}")
        elif value is False:
            words.append(f"-{name}:$false")
        else:
            words.append(f"-{name} {_ps_literal(value)}")
    return " ".join(words)


# ---------------------------------------------------------------------------------------------
# Plain records

_SIZE = re.compile(r"^\s*[\d.,]+\s*(?:B|KB|MB|GB|TB)\s*\(([\d.,\s\u00a0\u202f']+)\s*bytes\)\s*$")

#: Properties whose value is a flags enum, shown by Exchange as one comma-separated string.
FLAG_PROPERTIES = frozenset({"AuthMechanism", "PermissionGroups", "ErrorPolicies",
                             "TlsDomainCapabilities", "ServerRole"})


def parse_size(value: Any) -> Any:
    """``36 MB (37,748,736 bytes)`` → 37748736; ``Unlimited`` → None; anything else as is.

    The grouping separator follows the server's culture, so every non-digit inside the
    parentheses is dropped.
    """
    if isinstance(value, str):
        if value.strip().lower() == "unlimited":
            return None
        match = _SIZE.match(value)
        if match:
            return int(re.sub(r"\D", "", match.group(1)))
    return value


def plain_record(properties: dict[str, Any]) -> dict[str, Any]:
    """Exchange's wire values made plain: sizes as bytes, flags as lists, lists as lists.

    The simulated organization and the remote shell both end here, so a runbook sees the
    same record whichever transport it runs on.
    """
    record: dict[str, Any] = {}
    for name, value in properties.items():
        if name in FLAG_PROPERTIES and isinstance(value, str):
            record[name] = [part.strip() for part in value.split(",") if part.strip()]
            if record[name] == ["None"]:
                record[name] = []
        elif isinstance(value, str) and _SIZE.match(value):
            record[name] = parse_size(value)
        elif isinstance(value, tuple):
            record[name] = list(value)
        else:
            record[name] = value
    return record


# ---------------------------------------------------------------------------------------------
# Transcript


@dataclass
class TranscriptEntry:
    """One call as it was sent and how it ended."""

    cmdlet: str
    parameters: dict[str, Any]
    started: str
    duration_s: float = 0.0
    outcome: str = "pending"  # ok | error | unknown | transport-error
    records: int = 0
    error: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    line: str = ""


@dataclass
class Transcript:
    """Every call a shell made, in order, safe to write into a record.

    Args:
        transport: which kind of shell produced it (simulated, remote, ...).
        session: facts about the session, for example the runspace pool id.
    """

    transport: str
    session: dict[str, Any] = field(default_factory=dict)
    entries: list[TranscriptEntry] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"transport": self.transport, "session": dict(self.session),
                "entries": [asdict(e) for e in self.entries]}

    def calls(self, verb: str | None = None) -> list[TranscriptEntry]:
        """The entries whose cmdlet starts with ``verb-`` (all entries without a verb)."""
        if verb is None:
            return list(self.entries)
        return [e for e in self.entries if e.cmdlet.lower().startswith(verb.lower() + "-")]


# ---------------------------------------------------------------------------------------------
# The shell


class Shell(ABC):
    """Runs Exchange cmdlets; subclasses supply :meth:`_invoke` for one transport.

    A shell is a context manager: leaving the block closes the session (for the remote shell,
    the one runspace pool of the run).
    """

    transport = "abstract"

    def __init__(self) -> None:
        self.transcript = Transcript(self.transport)
        self._changes_allowed = False

    @contextmanager
    def changes_allowed(self) -> Iterator[Shell]:
        """Within this block the shell sends mutating cmdlets; everywhere else it refuses
        them, so a plan can never change anything by mistake."""
        self._changes_allowed = True
        try:
            yield self
        finally:
            self._changes_allowed = False

    def invoke(self, cmdlet: str, **parameters: Any) -> list[dict[str, Any]]:
        """Run ``cmdlet`` with named ``parameters`` and return plain records.

        Raises:
            ExchangeError: Exchange wrote an error record (terminating or not).
            TransportError: the endpoint could not be reached or did not answer.
            OutcomeUnknown: a mutating call was sent and its answer was lost.
        """
        if not re.fullmatch(r"[A-Za-z]+-[A-Za-z0-9]+", cmdlet):
            raise RunbookError(f"{cmdlet!r} is not a cmdlet name; scripts are never sent")
        if is_mutating(cmdlet):
            self._check_change(cmdlet, parameters)
        entry = TranscriptEntry(
            cmdlet=cmdlet,
            parameters=redact(parameters),
            started=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds"),
            line=powershell_line(cmdlet, parameters),
        )
        self.transcript.entries.append(entry)
        identity = parameters.get("Identity", parameters.get("Server", ""))
        logger.info("%s %s", cmdlet, identity if identity is not None else "")
        logger.debug("parameters: %s", entry.parameters)
        begin = time.perf_counter()
        try:
            records, warnings = self._invoke(cmdlet, parameters)
        except ExchangeError as error:
            entry.outcome = "error"
            entry.error = error.to_dict()
            raise
        except OutcomeUnknown as error:
            entry.outcome = "unknown"
            entry.error = {"message": str(error)}
            raise
        except TransportError as error:
            entry.outcome = "transport-error"
            entry.error = {"message": str(error)}
            raise
        finally:
            entry.duration_s = round(time.perf_counter() - begin, 4)
        entry.outcome = "ok"
        entry.records = len(records)
        entry.warnings = list(warnings)
        for warning in warnings:
            logger.warning("%s: %s", cmdlet, warning)
        return records

    def _check_change(self, cmdlet: str, parameters: dict[str, Any]) -> None:
        if not self._changes_allowed:
            raise RunbookError(f"{cmdlet} refused: this shell is reading and planning; only "
                               "the apply step sends changes")
        if cmdlet.lower().startswith("set-"):
            for name, value in parameters.items():
                if name in MULTI_VALUED and not isinstance(value, dict):
                    raise RunbookError(
                        f"{cmdlet} -{name} refused: a plain value would replace the whole "
                        "list; multi-valued properties are edited with @{Add=...; Remove=...}")

    @abstractmethod
    def _invoke(
        self, cmdlet: str, parameters: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """Send one call; return (plain records, warning texts) or raise."""

    def reconnect(self) -> None:
        """Open a fresh session after a lost connection. In-process shells need none."""

    def close(self) -> None:
        """Release the session."""

    def __enter__(self) -> Shell:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------
# Targets

ShellFactory = Callable[[str, dict[str, Any]], Shell]
_TARGETS: dict[str, ShellFactory] = {}


def register_target(scheme: str, factory: ShellFactory) -> None:
    """Make ``connect`` open ``factory(target, options)`` for targets of this scheme."""
    _TARGETS[scheme.lower()] = factory


def connect(target: str = "simulated", **options: Any) -> Shell:
    """Open a shell for ``target``.

    ``simulated`` (the default) is the embedded simulated organization; ``simulated:PATH``
    keeps its state in PATH. ``https://ex01.corp.example.com/PowerShell/`` and ``http://…``
    reach a real Exchange server, or the loopback emulator, over WinRM/PSRP.
    """
    # Transports register on import; importing here keeps the domain core free of them.
    from . import transports  # noqa: F401

    target = (target or "simulated").strip()
    scheme = target.split(":", 1)[0].lower() if ":" in target else target.lower()
    factory = _TARGETS.get(scheme)
    if factory is None:
        known = ", ".join(sorted(_TARGETS))
        shown = _redacted("target", target)
        raise RunbookError(f"target '{shown}': unknown kind '{scheme}' (known: {known})")
    logger.info("connecting to %s", target)
    return factory(target, options)


@contextmanager
def connected(target: str = "simulated", **options: Any) -> Iterator[Shell]:
    """``connect`` as a context manager that always closes the session."""
    shell = connect(target, **options)
    try:
        yield shell
    finally:
        shell.close()
