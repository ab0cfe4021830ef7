"""Registers the transports with :func:`connector_runbooks.shell.connect`.

Kept apart from ``shell`` so that the domain core (ranges, models, plan) never imports a
transport; only ``connect`` pulls this module in.
"""

from __future__ import annotations

from typing import Any

from .shell import Shell, register_target


def _simulated(target: str, options: dict[str, Any]) -> Shell:
    from .simulated.shell import SimulatedShell

    _, _, path = target.partition(":")
    return SimulatedShell(path or options.get("state_path"))


def _remote(target: str, options: dict[str, Any]) -> Shell:
    from .remote import RemoteShell

    return RemoteShell.from_target(target, **options)


register_target("simulated", _simulated)
register_target("http", _remote)
register_target("https", _remote)
