"""The table of simulated cmdlets and the context one call runs in.

Each cmdlet module registers its handlers with :func:`cmdlet`; the organization looks them up
by name (any letter case) and never needs an ``if`` ladder.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .binding import COMMON, SHOULD_PROCESS, Parameter
from .state import OrgState
from .wire import WireObject


@dataclass
class Call:
    """One cmdlet call in progress.

    Args:
        cmdlet: the cmdlet name as registered.
        state: the organization; a handler changes it in place, and the change is kept only
            when the handler returns without raising.
        parameters: the bound parameters, keyed by their canonical names.
        now: the time of the call (UTC).
    """

    cmdlet: str
    state: OrgState
    parameters: dict[str, Any]
    now: dt.datetime
    output: list[WireObject] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def given(self, name: str) -> bool:
        return name in self.parameters

    def get(self, name: str, default: Any = None) -> Any:
        return self.parameters.get(name, default)

    @property
    def timestamp(self) -> str:
        return self.now.isoformat(timespec="seconds")


Handler = Callable[[Call], None]


@dataclass(frozen=True)
class CmdletSpec:
    """A registered cmdlet.

    Args:
        name: the cmdlet name, for example ``Set-ReceiveConnector``.
        parameters: every parameter it binds, the common ones included.
        handler: the function that runs it.
        namespace: the Exchange task namespace, for FullyQualifiedErrorId.
        mutating: whether it takes -Confirm and -WhatIf.
    """

    name: str
    parameters: tuple[Parameter, ...]
    handler: Handler
    namespace: str
    mutating: bool

    @property
    def task_class(self) -> str:
        return f"Microsoft.Exchange.Management.{self.namespace}.{self.name.replace('-', '')}"


CMDLETS: dict[str, CmdletSpec] = {}


def cmdlet(
    name: str, *parameters: Parameter, namespace: str = "SystemConfigurationTasks",
    mutating: bool = False,
) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of cmdlet ``name``."""

    def register(handler: Handler) -> Handler:
        every = parameters + COMMON + (SHOULD_PROCESS if mutating else ())
        CMDLETS[name.lower()] = CmdletSpec(name, every, handler, namespace, mutating)
        return handler

    return register
