"""Faults the emulator can inject, so tests can show what a runbook does when things go wrong.

Each :class:`Fault` names what goes wrong and, for most kinds, which cmdlet triggers it. A fault
fires a limited number of times (once by default), so a test can drop the connection during a
Set- call and then read the connector back over a fresh connection.

Kinds:

``drop``
    Close the TCP connection without answering the request that carries the call. With
    ``when="after"`` the call runs first, so the change is made but its answer is lost; with
    ``when="before"`` nothing runs.
``delay``
    Run the call, then hold the answer for ``seconds``; longer than the client's read timeout,
    the client gives up although the call ran.
``refuse-auth``
    Answer every request with 401, whatever the credentials.
``error``
    Instead of running the call, write a non-terminating error record (by default Exchange's
    administrative-limit error) and complete the pipeline.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

KINDS = ("drop", "delay", "refuse-auth", "error")


@dataclass
class Fault:
    """One fault.

    Args:
        kind: ``drop``, ``delay``, ``refuse-auth`` or ``error``.
        cmdlet: the cmdlet whose call triggers it, compared without regard to case; None for
            any call (``refuse-auth`` ignores it).
        when: for ``drop``: ``before`` or ``after`` running the call.
        seconds: for ``delay``: how long the answer is held.
        times: how many calls it affects; 0 for every call. By default ``refuse-auth`` affects
            every request and the other kinds one call.
        message: for ``error``: the error text.
        reason: for ``error``: the exception name shown in CategoryInfo.
    """

    kind: str
    cmdlet: str | None = None
    when: str = "before"
    seconds: float = 0.0
    times: int | None = None
    message: str = "The administrative limit for this request was exceeded."
    reason: str = "AdminLimitExceededException"
    fired: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"fault kind {self.kind!r}: expected one of {', '.join(KINDS)}")
        if self.when not in ("before", "after"):
            raise ValueError(f"fault when {self.when!r}: expected before or after")
        if self.times is None:
            self.times = 0 if self.kind == "refuse-auth" else 1

    def matches(self, kind: str, cmdlet: str | None) -> bool:
        if self.kind != kind or (self.times and self.fired >= self.times):
            return False
        return self.cmdlet is None or (cmdlet or "").lower() == self.cmdlet.lower()


class Faults:
    """The faults of one emulator, safe to consult from its request threads.

    Args:
        faults: the faults to inject, in the order they are consulted.
    """

    def __init__(self, faults: list[Fault] | None = None) -> None:
        self._faults = list(faults or [])
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        """Inject one more fault; returns it so a test can look at ``fired`` later."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def take(self, kind: str, cmdlet: str | None = None) -> Fault | None:
        """The first fault of ``kind`` that applies to ``cmdlet``, counted as fired; or None."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(kind, cmdlet):
                    fault.fired += 1
                    return fault
        return None

    def __len__(self) -> int:
        return len(self._faults)


def parse_fault(kind: str, spec: str | None = None) -> Fault:
    """A fault from its command-line form.

    ``drop`` takes ``CMDLET`` or ``CMDLET:after``; ``delay`` takes ``CMDLET:SECONDS``;
    ``error`` takes ``CMDLET``; ``refuse-auth`` takes nothing.
    """
    if kind == "refuse-auth":
        return Fault("refuse-auth")
    cmdlet, _, extra = (spec or "").partition(":")
    if not cmdlet:
        raise ValueError(f"--{kind}-on needs a cmdlet name")
    if kind == "drop":
        return Fault("drop", cmdlet, when=extra or "before")
    if kind == "delay":
        try:
            seconds = float(extra)
        except ValueError:
            raise ValueError(f"--delay-on {spec!r}: expected CMDLET:SECONDS") from None
        return Fault("delay", cmdlet, seconds=seconds)
    return Fault(kind, cmdlet)
