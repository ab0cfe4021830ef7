"""What the simulated organization hands back: objects and error records in Exchange's wire shapes.

These are the shapes a real Exchange server sends through its remote endpoint (before the client
adds ``Deserialized.`` to the type names), so the in-process shell and the loopback emulator can
serve the same results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class MultiValued:
    """A multi-valued property: elements as their display strings.

    Args:
        values: the elements, as Exchange's ToString shows them.
        element_type: the .NET type of one element, for the MultiValuedProperty type name.
    """

    values: list[str]
    element_type: str = "System.String"

    @property
    def type_names(self) -> list[str]:
        return [
            "Microsoft.Exchange.Data.MultiValuedProperty`1[[" + self.element_type
            + ", Microsoft.Exchange.Data, Version=15.0.0.0, Culture=neutral, "
            "PublicKeyToken=31bf3856ad364e35]]",
            "Microsoft.Exchange.Data.MultiValuedPropertyBase",
            "System.Object",
        ]


@dataclass
class WireObject:
    """One output object.

    Args:
        type_names: the type chain, most derived first, ending with ``System.Object``.
        to_string: what ``ToString()`` gives, for example ``EX01\\Relay Scanners``.
        properties: property name → str, int, bool, None, :class:`MultiValued`, or an aware
            ``datetime.datetime`` for DateTime properties (WhenChanged, queue retry times), as
            a real server sends them.
    """

    type_names: list[str]
    to_string: str
    properties: dict[str, Any]


@dataclass
class WireError:
    """One error record.

    Args:
        message: the exception message (Exchange's text).
        cmdlet: the activity, the cmdlet that failed.
        category: ErrorCategory name (NotSpecified, InvalidArgument, ObjectNotFound, ...).
        reason: the exception name shown in CategoryInfo.
        target: the target object, usually the identity.
        fully_qualified_error_id: in Exchange's ``[Server=…] [FailureCategory=Cmdlet-…]`` form.
        terminating: True when the pipeline fails (unknown command, script text, binding).
    """

    message: str
    cmdlet: str
    category: str = "NotSpecified"
    reason: str = ""
    target: str | None = None
    fully_qualified_error_id: str = ""
    terminating: bool = False


@dataclass
class CommandResult:
    """Everything one cmdlet call produced."""

    output: list[WireObject] = field(default_factory=list)
    errors: list[WireError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def to_python(value: Any) -> Any:
    """A wire value as a plain Python value (multi-valued → list of strings)."""
    if isinstance(value, MultiValued):
        return list(value.values)
    return value
