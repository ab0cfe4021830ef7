"""Exchange connector runbooks: the library the notebooks call."""

from .errors import (
    ConcurrentChange,
    ExchangeError,
    InputError,
    InputErrors,
    OutcomeUnknown,
    PlanRefused,
    RunbookError,
    TransportError,
    VerificationFailed,
)
from .shell import Shell, connect, connected

__version__ = "0.1.0"

__all__ = [
    "ConcurrentChange",
    "ExchangeError",
    "InputError",
    "InputErrors",
    "OutcomeUnknown",
    "PlanRefused",
    "RunbookError",
    "Shell",
    "TransportError",
    "VerificationFailed",
    "connect",
    "connected",
]
