"""Multi-valued properties: replacing and editing a stored list the way Exchange does.

A plain value replaces the list; ``Add``/``Remove`` edit it in place, with added values at the
front of the displayed list (reference section 3). Values are compared by what they mean (a
range by its bounds, a host name without regard to case), never by their text.

The simulator is strict where Exchange's behaviour is unknown (reference section 11, items
1 and 2): adding a value that is present, removing one that is absent, and an empty value or
an empty result are all refused, and the call changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TypeVar

from .addresses import AddressParseError, IPBinding, IPRange, parse_ip_binding, parse_ip_range
from .binding import ListEdit
from .failures import CmdletFailure

#: The text Exchange shows for an empty or invalid RemoteIPRanges value (section 11, item 1).
PROPERTY_REQUIRED = "You must provide a value for this property."

#: The simulator's own exception names where Exchange's are unknown (section 11).
VALUE_REQUIRED = "DataValidationException"
ALREADY_PRESENT = "ValueAlreadyPresentException"
NOT_PRESENT = "ValueNotPresentException"


@dataclass(frozen=True)
class Element:
    """One parsed value of a multi-valued property.

    Args:
        key: what equality is decided on.
        display: the value as Exchange shows it.
    """

    key: Hashable
    display: str


Parser = Callable[[str, str], Element]


#: What an address parser gives: a parsed range or binding.
_Parsed = TypeVar("_Parsed", IPRange, IPBinding)


def _element(prop: str, value: str, parse: Callable[[str], _Parsed], noun: str,
             key: Callable[[_Parsed], Hashable]) -> Element:
    try:
        parsed = parse(value)
    except AddressParseError as error:
        raise CmdletFailure(
            error.identifier,
            f"The value \"{value}\" of property {prop} isn't a valid {noun}: {error.problem}.",
            target=value,
        ) from None
    return Element(key(parsed), parsed.display)


def range_element(prop: str, value: str) -> Element:
    """One RemoteIPRanges value, compared by its bounds."""
    return _element(prop, value, parse_ip_range, "IP range", lambda r: r.bounds)


def binding_element(prop: str, value: str) -> Element:
    """One Bindings value, compared by address and port."""
    return _element(prop, value, parse_ip_binding, "binding",
                    lambda b: (b.address.version, int(b.address), b.port))


def edit_list(prop: str, current: list[str], edit: ListEdit, parse: Parser,
              *, may_be_empty: bool = False) -> list[str]:
    """The list after ``edit``, as display strings.

    Args:
        prop: the property name, for messages.
        current: the stored list (display strings).
        edit: what the parameter asked for.
        parse: turns one value into an :class:`Element`; raises CmdletFailure when malformed.
        may_be_empty: whether an empty result is allowed (SmartHosts), or refused with
            Exchange's "You must provide a value for this property." (RemoteIPRanges,
            Bindings).

    Raises:
        CmdletFailure: a malformed value, an empty value, a value added twice or present,
            a value removed that is absent, or an empty result where one is not allowed.
    """

    def parsed(values: list[str]) -> list[Element]:
        elements = []
        for value in values:
            if value == "" and not may_be_empty:
                raise CmdletFailure(VALUE_REQUIRED, PROPERTY_REQUIRED, target=prop)
            elements.append(parse(prop, value))
        return elements

    def refuse_repeats(values: list[str], elements: list[Element]) -> None:
        seen: dict[Hashable, str] = {}
        for value, element in zip(values, elements):
            if element.key in seen:
                raise CmdletFailure(
                    ALREADY_PRESENT,
                    f"The value \"{value}\" is given more than once for {prop}; it is the same "
                    f"entry as \"{seen[element.key]}\".",
                    target=value,
                )
            seen[element.key] = value

    if edit.replace is not None:
        elements = parsed(edit.replace)
        refuse_repeats(edit.replace, elements)
        result = [e.display for e in elements]
    else:
        kept = [parse(prop, value) for value in current]
        removals = parsed(edit.remove)
        refuse_repeats(edit.remove, removals)
        kept_keys = {k.key for k in kept}
        for value, element in zip(edit.remove, removals):
            if element.key not in kept_keys:
                raise CmdletFailure(
                    NOT_PRESENT,
                    f"The value \"{value}\" can't be removed from {prop} because it isn't "
                    "present.",
                    target=value,
                )
        removed = {element.key for element in removals}
        kept = [k for k in kept if k.key not in removed]
        additions = parsed(edit.add)
        refuse_repeats(edit.add, additions)
        present = {k.key: k.display for k in kept}
        for value, element in zip(edit.add, additions):
            if element.key in present:
                raise CmdletFailure(
                    ALREADY_PRESENT,
                    f"The value \"{value}\" can't be added to {prop} because it's already "
                    f"present as \"{present[element.key]}\".",
                    target=value,
                )
        result = [e.display for e in additions] + [k.display for k in kept]

    if not result and not may_be_empty:
        raise CmdletFailure(VALUE_REQUIRED, PROPERTY_REQUIRED, target=prop)
    return result
