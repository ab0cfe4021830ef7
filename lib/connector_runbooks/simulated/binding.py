"""Parameter binding as PowerShell does it for the simulated cmdlets.

Names match without regard to letter case; an unknown name, a missing mandatory parameter or
a value of the wrong type fails the pipeline with PowerShell's own text. Multi-valued
parameters take a plain value (replaces the list) or a dict with ``Add`` and/or ``Remove``
keys in any letter case (edits it), each with one value or a list (reference section 3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .failures import binding_failure, transformation_failure
from .values import is_fqdn, parse_flags, parse_size, parse_timespan

Converter = Callable[[str, Any], Any]


@dataclass(frozen=True)
class Parameter:
    """One cmdlet parameter.

    Args:
        name: the parameter name as Exchange spells it.
        convert: turns the raw value into the bound value, or raises a binding failure.
        mandatory: PowerShell refuses the call without it.
    """

    name: str
    convert: Converter
    mandatory: bool = False


@dataclass
class ListEdit:
    """What a multi-valued parameter asks for.

    Args:
        replace: the new list when a plain value was given, else None.
        add: values to add (hashtable ``Add`` key).
        remove: values to remove (hashtable ``Remove`` key).
    """

    replace: list[str] | None = None
    add: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)

    @property
    def is_edit(self) -> bool:
        return self.replace is None


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple, set, frozenset)):
        return [v for v in value if v is not None]
    return [value]


def _element(value: Any) -> str:
    # Elements travel as strings; anything else (an ipaddress object, an int) is sent as its
    # text, which is what PowerShell's conversion to the element type would read.
    return value if isinstance(value, str) else str(value)


def multi(name: str, element_type: str) -> Converter:
    """A multi-valued parameter; the bound value is a :class:`ListEdit`."""

    def convert(_: str, value: Any) -> ListEdit:
        if isinstance(value, dict):
            edit = ListEdit()
            for key, items in value.items():
                if str(key).lower() == "add":
                    edit.add = [_element(v) for v in as_list(items)]
                elif str(key).lower() == "remove":
                    edit.remove = [_element(v) for v in as_list(items)]
                else:
                    raise transformation_failure(
                        name, "System.Collections.Hashtable",
                        f"Microsoft.Exchange.Data.MultiValuedProperty`1[{element_type}]",
                        f"The hashtable key '{key}' is not valid. Use Add or Remove.",
                    )
            return edit
        return ListEdit(replace=[_element(v) for v in as_list(value)])

    return convert


def text(_: str, value: Any) -> str | None:
    return None if value is None else str(value)


def anything(_: str, value: Any) -> Any:
    return value


def boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise transformation_failure(
        name, value, "System.Boolean",
        "Boolean parameters accept only Boolean values and numbers, such as $True, $False, 1 "
        "or 0.",
    )


def switch(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise transformation_failure(
        name, value, "System.Management.Automation.SwitchParameter",
        "Switch parameters accept only Boolean values, such as $True or $False.",
    )


def integer(low: int, high: int, *, unlimited: bool = False) -> Converter:
    """An Int32 parameter within [low, high]; ``unlimited`` also allows ``Unlimited`` (None)."""

    def convert(name: str, value: Any) -> int | None:
        if unlimited and isinstance(value, str) and value.strip().lower() == "unlimited":
            return None
        try:
            if isinstance(value, bool):
                raise ValueError
            number = int(value)
        except (TypeError, ValueError):
            raise binding_failure(
                f"Cannot bind parameter '{name}'. Cannot convert value \"{value}\" to type "
                '"System.Int32". Error: "Input string was not in a correct format."',
                "CannotConvertArgumentNoMessage", str(value),
            ) from None
        if not low <= number <= high:
            if number < low:
                problem = f"less than the minimum allowed range of {low}"
                wanted = f"greater than or equal to {low}"
            else:
                problem = f"greater than the maximum allowed range of {high}"
                wanted = f"less than or equal to {high}"
            raise binding_failure(
                f"Cannot validate argument on parameter '{name}'. The {number} argument is "
                f"{problem}. Supply an argument that is {wanted} and then try the command "
                "again.",
                "ParameterArgumentValidationError", str(value),
            )
        return number

    return convert


def enum(choices: tuple[str, ...], type_name: str) -> Converter:
    """An enum parameter; the bound value is the canonical name."""
    canonical = {choice.lower(): choice for choice in choices}

    def convert(name: str, value: Any) -> str:
        key = str(value).strip().lower()
        if key in canonical:
            return canonical[key]
        raise binding_failure(
            f"Cannot bind parameter '{name}'. Cannot convert value \"{value}\" to type "
            f'"{type_name}". Error: "Unable to match the identifier name {value} to a valid '
            "enumerator name. Specify one of the following enumerator names and try again:\n"
            f'{", ".join(choices)}"',
            "CannotConvertArgumentNoMessage", str(value),
        )

    return convert


def flags(order: tuple[str, ...], type_name: str, *, keep_none: bool = False) -> Converter:
    """A flags parameter; the bound value is the list of names in enum order."""

    def convert(name: str, value: Any) -> list[str]:
        try:
            return parse_flags(value, order, keep_none=keep_none)
        except ValueError as error:
            raise binding_failure(
                f"Cannot bind parameter '{name}'. Cannot convert value \"{value}\" to type "
                f'"{type_name}". Error: "Unable to match the identifier name {error} to a valid '
                "enumerator name. Specify one of the following enumerator names and try "
                f'again:\nNone, {", ".join(order)}"',
                "CannotConvertArgumentNoMessage", str(value),
            ) from None

    return convert


def size(*, unlimited: bool) -> Converter:
    """A size parameter; the bound value is bytes, or None for Unlimited."""
    type_name = ("Microsoft.Exchange.Data.Unlimited`1[Microsoft.Exchange.Data.ByteQuantifiedSize]"
                 if unlimited else "Microsoft.Exchange.Data.ByteQuantifiedSize")

    def convert(name: str, value: Any) -> int | None:
        try:
            return parse_size(value, allow_unlimited=unlimited)
        except ValueError as error:
            raise transformation_failure(name, value, type_name, str(error)) from None

    return convert


def fqdn(name: str, value: Any) -> str | None:
    """A host name (Exchange's Fqdn type); None clears the property."""
    if value is None:
        return None
    if not is_fqdn(str(value)):
        raise transformation_failure(
            name, value, "Microsoft.Exchange.Data.Fqdn", f"\"{value}\" isn't a valid FQDN."
        )
    return str(value)


def fqdn_pattern(name: str, value: Any) -> str:
    """A domain that may start with ``*.`` (TlsDomain)."""
    domain = str(value)
    if not is_fqdn(domain[2:] if domain.startswith("*.") else domain):
        raise transformation_failure(
            name, value, "Microsoft.Exchange.Data.SmtpDomainWithSubdomains",
            f"\"{value}\" isn't a valid domain.",
        )
    return domain


def optional(convert: Converter) -> Converter:
    """``convert``, except that None clears the property."""

    def convert_optional(name: str, value: Any) -> Any:
        return None if value is None else convert(name, value)

    return convert_optional


def timespan(name: str, value: Any) -> int:
    try:
        return parse_timespan(value)
    except ValueError as error:
        raise transformation_failure(
            name, value, "Microsoft.Exchange.Data.EnhancedTimeSpan", str(error)
        ) from None


#: Parameters every cmdlet takes. They do not change what the simulator does.
COMMON = (
    Parameter("ErrorAction", anything),
    Parameter("WarningAction", anything),
    Parameter("Verbose", anything),
    Parameter("Debug", anything),
    Parameter("DomainController", text),
)

#: Parameters of cmdlets that change something (ShouldProcess).
SHOULD_PROCESS = (
    Parameter("Confirm", switch),
    Parameter("WhatIf", switch),
)


def bind(parameters: list[Parameter], given: dict[str, Any]) -> dict[str, Any]:
    """Bind ``given`` to the cmdlet's ``parameters``; keys of the result are canonical names.

    Raises:
        TerminatingFailure: unknown or repeated parameter, wrong type, missing mandatory one.
    """
    by_name = {p.name.lower(): p for p in parameters}
    bound: dict[str, Any] = {}
    for name, value in given.items():
        parameter = by_name.get(str(name).lower())
        if parameter is None:
            raise binding_failure(
                f"A parameter cannot be found that matches parameter name '{name}'.",
                "NamedParameterNotFound", str(name),
            )
        if parameter.name in bound:
            raise binding_failure(
                f"Cannot bind parameter because parameter '{parameter.name}' is specified more "
                "than once. To provide multiple values to parameters that can accept multiple "
                'values, use the array syntax. For example, "-parameter value1,value2,value3".',
                "ParameterAlreadyBound", parameter.name,
            )
        if value is None and parameter.mandatory:
            raise binding_failure(
                f"Cannot bind argument to parameter '{parameter.name}' because it is null.",
                "ParameterArgumentValidationErrorNullNotAllowed", parameter.name,
            )
        bound[parameter.name] = parameter.convert(parameter.name, value)

    missing = [p.name for p in parameters if p.mandatory and bound.get(p.name) is None]
    if missing:
        raise binding_failure(
            "Cannot process command because of one or more missing mandatory parameters: "
            + " ".join(missing) + ".",
            "MissingMandatoryParameter",
        )
    return bound


def ambiguous_parameter_set() -> Exception:
    """Two parameters of different parameter sets given together."""
    return binding_failure(
        "Parameter set cannot be resolved using the specified named parameters.",
        "AmbiguousParameterSet",
    )


def empty_collection(name: str) -> Exception:
    """An empty list for a mandatory collection parameter (reference section 10)."""
    return binding_failure(
        f"Cannot bind argument to parameter '{name}' because it is an empty collection.",
        "ParameterArgumentValidationErrorEmptyCollectionNotAllowed", name,
    )
