"""pandas tables and short texts that show connectors, plans and verifications in a notebook."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from . import ranges
from .models import ReceiveConnector
from .plan import ApplyResult, RemoteIPRangesPlan, Verification

# A change record shows every entry (a connector holds at most about 1,200) and whole values.
pd.set_option("display.max_rows", 2000)
pd.set_option("display.max_colwidth", None)


def show(*objects: Any) -> None:
    """Display each object: text as Markdown, anything else as Jupyter shows it."""
    try:
        from IPython.display import Markdown, display
    except ImportError:  # outside IPython, print plain text
        for obj in objects:
            print(obj)
        return
    for obj in objects:
        display(Markdown(obj) if isinstance(obj, str) else obj)


def ranges_table(entries: Iterable[str]) -> pd.DataFrame:
    """One row per RemoteIPRanges entry: its form, first and last address and size."""
    rows = []
    for text in entries:
        entry = ranges.from_exchange(text)
        rows.append({"entry": text, "form": entry.form, "first": str(entry.first),
                     "last": str(entry.last), "addresses": entry.size})
    frame = pd.DataFrame(rows, columns=["entry", "form", "first", "last", "addresses"])
    return frame.astype({"addresses": "object"})


def connector_summary(connector: ReceiveConnector) -> pd.DataFrame:
    """The properties of a Receive connector that matter for relay, one row each."""
    facts = {
        "Identity": connector.identity,
        "TransportRole": connector.transport_role,
        "Bindings": ", ".join(connector.bindings),
        "PermissionGroups": ", ".join(connector.permission_groups) or "None",
        "AuthMechanism": ", ".join(connector.auth_mechanism) or "None",
        "ProtocolLoggingLevel": connector.protocol_logging_level,
        "Enabled": connector.enabled,
        "RemoteIPRanges entries": len(connector.remote_ip_ranges),
    }
    return pd.DataFrame({"value": [str(v) for v in facts.values()]}, index=list(facts))


def plan_table(plan: RemoteIPRangesPlan) -> pd.DataFrame:
    """Every requested entry and what the plan does with it."""
    rows = [{"action": "add", "entry": text, "reason": ""} for text in plan.add]
    rows += [{"action": "remove", "entry": text, "reason": ""} for text in plan.remove]
    rows += [{"action": "no change", "entry": u.value,
              "reason": f"{u.reason} ({u.source}{f', line {u.line}' if u.line else ''})"}
             for u in plan.unchanged]
    return pd.DataFrame(rows, columns=["action", "entry", "reason"])


def show_plan(plan: RemoteIPRangesPlan) -> None:
    """The plan as a person reads it: verdict, changes, warnings, blockers, the exact cmdlet."""
    if plan.blockers:
        verdict = "**Refused**: the change breaks the rules below; nothing will be sent."
    elif not plan.changed:
        verdict = "**No-op**: the connector already matches the request; nothing will be sent."
    else:
        verdict = (f"**Change**: {len(plan.add)} to add, {len(plan.remove)} to remove; "
                   f"{len(plan.before)} entries before, {len(plan.after)} after.")
    parts: list[Any] = [f"Plan for `{plan.identity}`. {verdict}", plan_table(plan)]
    if plan.warnings:
        parts.append("Warnings:\n\n" + "\n".join(f"- {w}" for w in plan.warnings))
    if plan.blockers:
        parts.append("Blockers:\n\n" + "\n".join(f"- {b}" for b in plan.blockers))
    if plan.changed and not plan.blockers:
        parts.append(f"The one cmdlet apply will send:\n\n```powershell\n{plan.powershell}\n```")
    show(*parts)


def show_apply(result: ApplyResult | None, apply: bool) -> None:
    if not apply:
        show("Plan only: `apply` is false, so nothing was sent. Run again with `apply` "
              "set (or `--apply` on the command line) to make the change.")
    elif result is not None:
        show(f"Apply outcome: **{result.outcome}**")
        for warning in result.warnings:
            show(f"Exchange warned: {warning}")


def verification_table(verification: Verification) -> pd.DataFrame:
    """Planned against actual, entry by entry."""
    expected = {ranges.from_exchange(t): t for t in verification.expected}
    actual = {ranges.from_exchange(t): t for t in verification.actual}
    rows = []
    for entry in sorted(set(expected) | set(actual), key=lambda e: e.key):
        rows.append({"entry": expected.get(entry) or actual.get(entry),
                     "planned": entry in expected, "on connector": entry in actual})
    return pd.DataFrame(rows, columns=["entry", "planned", "on connector"])


def show_verification(verification: Verification | None) -> None:
    if verification is None:
        show("Nothing to verify: no change was sent.")
        return
    verdict = ("**Verified**: the connector holds exactly the planned entries."
               if verification.ok else
               f"**Mismatch**: missing {verification.missing}, unexpected "
               f"{verification.unexpected}.")
    show(verdict, verification_table(verification))
