"""Checks every runbook applies to its parameters, whoever passes them (runner, papermill, a
person editing the cell): switches are real booleans, and nothing secret is among them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from .errors import InputError
from .shell import SECRET_NAME

#: Parameters that switch behaviour on; a string such as "no" must never count as true.
FLAGS = frozenset({"apply", "allow_risky", "check_queues", "interactive"})

# A secret-looking key inside text, as in '{"password": "..."}' passed where a dict belongs.
_SECRET_IN_TEXT = re.compile(rf"(?:{SECRET_NAME.pattern})\W{{0,3}}\s*[:=]", re.I)


def check_flags(parameters: dict[str, Any], *, source: str = "parameters") -> None:
    """Refuse a switch that is not exactly true or false (a quoted "false" is truthy)."""
    for name in sorted(FLAGS & set(parameters)):
        value = parameters[name]
        if not isinstance(value, bool):
            raise InputError(value, f"{name} must be true or false, not a {type(value).__name__}",
                             source=f"{source}: {name}", accepted="true or false, unquoted")


def secrets_in(value: Any, path: str = "") -> Iterator[str]:
    """Where ``value`` holds something secret: a secret-looking key at any depth, or a URL
    with a password in it. Yields dotted paths such as ``target_options.password``."""
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if SECRET_NAME.search(str(key)):
                yield where
            else:
                yield from secrets_in(item, where)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from secrets_in(item, f"{path}[{index}]")
    elif isinstance(value, str):
        if _SECRET_IN_TEXT.search(value):
            yield path or "value"
        elif "://" in value:
            try:
                parts = urlsplit(value)
            except ValueError:
                return
            if parts.password:
                yield path or "value"


def check_no_secrets(parameters: dict[str, Any], *, source: str = "parameters") -> None:
    """Refuse parameters that carry a secret; they would be stored in the change record."""
    found = list(secrets_in(parameters))
    if found:
        raise InputError(", ".join(found), "secrets are never passed as parameters; they "
                         "would be stored in the change record", source=source,
                         accepted="credentials from the environment (CONNECTOR_RUNBOOKS_PASSWORD)"
                         " or the system keyring")


# Typography that pasting from a document or a web page brings around a name.
_PASTED = str.maketrans({"\u00a0": " ", "\u2018": "", "\u2019": "", "\u201c": "",
                         "\u201d": "", '"': "", "'": "", "`": ""})


def unpasted(text: str) -> str:
    """A name as the user meant it: curly and straight quotes dropped, non-breaking spaces made
    plain, ends trimmed. A space inside stays, so a bad name is still refused as typed."""
    return text.translate(_PASTED).strip()
