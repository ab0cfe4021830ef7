"""pandas tables and short texts that show Send connectors, their plans and queue health."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import pandas as pd

from .display import show
from .models import ExchangeServer
from .plan import ApplyResult
from .queues import QueueHealth, duration_text
from .send import (
    DecommissionPlan,
    DecommissionResult,
    SendConnector,
    SendConnectorPlan,
    SendVerification,
    source_server_problem,
    value_key,
)


def connector_summary(connector: SendConnector) -> pd.DataFrame:
    """The properties of a Send connector that decide where its mail goes, one row each."""
    record = connector.record
    facts = {
        "Identity": connector.identity,
        "AddressSpaces": ", ".join(connector.address_spaces),
        "SourceTransportServers": ", ".join(connector.source_transport_servers),
        "DNSRoutingEnabled": connector.dns_routing_enabled,
        "SmartHosts": ", ".join(connector.smart_hosts) or "(none)",
        "Port": record.get("Port", 25),
        "RequireTLS": record.get("RequireTLS", False),
        "ProtocolLoggingLevel": record.get("ProtocolLoggingLevel", "None"),
        "Enabled": connector.enabled,
    }
    return pd.DataFrame({"value": [str(v) for v in facts.values()]}, index=list(facts))


def connectors_table(connectors: list[SendConnector]) -> pd.DataFrame:
    """Every Send connector, one row each: where it sends and from which servers."""
    rows = [{"connector": c.identity, "AddressSpaces": ", ".join(c.address_spaces),
             "SourceTransportServers": ", ".join(c.source_transport_servers),
             "DNSRoutingEnabled": c.dns_routing_enabled,
             "SmartHosts": ", ".join(c.smart_hosts)} for c in connectors]
    return pd.DataFrame(rows, columns=["connector", "AddressSpaces", "SourceTransportServers",
                                       "DNSRoutingEnabled", "SmartHosts"])


def servers_table(servers: list[ExchangeServer]) -> pd.DataFrame:
    """The organization's servers and whether each may be a source server, and why not."""
    rows = [{"server": s.name, "role": ", ".join(s.server_role), "version": s.version,
             "site": s.site.rsplit("/", 1)[-1], "fqdn": s.fqdn, "source server": _eligibility(s)}
            for s in servers]
    return pd.DataFrame(rows, columns=["server", "role", "version", "site", "fqdn",
                                       "source server"])


def _eligibility(server: ExchangeServer) -> str:
    problem = source_server_problem(server)
    if problem:
        return f"no: {problem}"
    return "yes (Edge Subscription; not with Mailbox servers)" if server.is_edge else "yes"


def plan_table(plan: SendConnectorPlan) -> pd.DataFrame:
    """Every requested value and what the plan does with it."""
    rows: list[dict[str, Any]] = []
    if plan.changes_dns_routing:
        rows.append({"action": "set", "value": f"DNSRoutingEnabled {plan.dns_routing_after}",
                     "reason": f"was {plan.dns_routing_before}"})
    rows += [{"action": "add", "value": value, "reason": ""} for value in plan.add]
    rows += [{"action": "remove", "value": value, "reason": ""} for value in plan.remove]
    rows += [{"action": "no change", "value": u.value,
              "reason": f"{u.reason} ({u.source}{f', item {u.line}' if u.line else ''})"}
             for u in plan.unchanged]
    return pd.DataFrame(rows, columns=["action", "value", "reason"])


def _verdict(plan: SendConnectorPlan | DecommissionPlan, what: str) -> str:
    if plan.blockers:
        return "**Refused**: the change breaks the rules below; nothing will be sent."
    if not plan.changed:
        return "**No-op**: nothing to change; nothing will be sent."
    return f"**Change**: {what}."


def show_plan(plan: SendConnectorPlan) -> None:
    """The plan as a person reads it: verdict, lists before and after, warnings, blockers and
    the exact cmdlet."""
    what = (f"{len(plan.add)} to add, {len(plan.remove)} to remove; {plan.property_name} "
            f"before: {', '.join(plan.before) or '(none)'}; after: "
            f"{', '.join(plan.after) or '(none)'}")
    heading = f"Plan for `{plan.identity}` ({plan.property_name}). {_verdict(plan, what)}"
    parts: list[Any] = [heading, plan_table(plan)]
    parts += _notes(plan.warnings, plan.blockers)
    if plan.changed and not plan.blockers:
        parts.append(f"The one cmdlet apply will send:\n\n```powershell\n{plan.powershell}\n```")
    show(*parts)


def _notes(warnings: list[str], blockers: list[str]) -> list[str]:
    notes = []
    if warnings:
        notes.append("Warnings:\n\n" + "\n".join(f"- {w}" for w in warnings))
    if blockers:
        notes.append("Blockers:\n\n" + "\n".join(f"- {b}" for b in blockers))
    return notes


def show_apply(result: ApplyResult | DecommissionResult | None, apply: bool) -> None:
    """Say what apply did, or that it was not asked."""
    if not apply:
        show("Plan only: `apply` is false, so nothing was sent. Run again with `apply` set "
             "(or `--apply` on the command line) to make the change.")
        return
    if result is None:
        return
    show(f"Apply outcome: **{result.outcome}**")
    steps = result.steps.values() if isinstance(result, DecommissionResult) else [result]
    for step in steps:
        for warning in step.warnings:
            show(f"Exchange warned: {warning}")


def verification_table(verification: SendVerification) -> pd.DataFrame:
    """Each value before the change, as planned after it, and as read after applying: a
    removed value stays in the table, listed before and gone after. DNSRoutingEnabled has its
    own row, with its values, when the plan set it."""
    def key(value: str) -> Hashable:
        return value_key(verification.property_name, value)

    before = {key(v): v for v in verification.before}
    expected = {key(v): v for v in verification.expected}
    actual = {key(v): v for v in verification.actual}
    shown = {**before, **expected, **actual}  # as the connector writes it, where it holds it
    order = list(expected) + [k for k in before if k not in expected]
    order += [k for k in actual if k not in expected and k not in before]
    rows: list[dict[str, Any]] = [
        {"value": shown[k], "before": k in before, "planned": k in expected,
         "on connector": k in actual} for k in order]
    if verification.dns_routing_expected is not None:
        rows.append({"value": "DNSRoutingEnabled", "before": verification.dns_routing_before,
                     "planned": verification.dns_routing_expected,
                     "on connector": verification.dns_routing_actual})
    return pd.DataFrame(rows, columns=["value", "before", "planned", "on connector"])


def show_verification(verification: SendVerification | None) -> None:
    if verification is None:
        show("Nothing to verify: no change was sent.")
        return
    name = verification.property_name
    lists = (f"{name} before: {_listed(verification.before)}; now: "
             f"{_listed(verification.actual)}.")
    verdict = (f"**Verified**: `{verification.identity}` holds exactly the planned {name}. "
               f"{lists}"
               if verification.ok else
               f"**Mismatch** on `{verification.identity}`: missing {verification.missing}, "
               f"unexpected {verification.unexpected}. {lists}")
    show(verdict, verification_table(verification))


def _listed(values: list[str]) -> str:
    return ", ".join(values) or "(none)"


# ---------------------------------------------------------------------------------------------
# Retiring a server


def decommission_table(plan: DecommissionPlan) -> pd.DataFrame:
    """One row per Send connector: its source servers before and after, and the verdict; the
    cmdlets themselves are shown whole below the table (a table cell would cut them)."""
    rows = [{"connector": step.identity, "before": ", ".join(step.before),
             "after": ", ".join(step.after) or "(none)", "change": _step_change(step)}
            for step in plan.steps]
    rows += [{"connector": identity, "before": "", "after": "",
              "change": f"none: {plan.server} is not a source server"}
             for identity in plan.not_listed]
    return pd.DataFrame(rows, columns=["connector", "before", "after", "change"])


def _step_change(step: SendConnectorPlan) -> str:
    if step.blockers:
        return "refused"
    if not step.changed:
        return "none"
    edits = [f"add {', '.join(step.add)}"] if step.add else []
    edits += [f"remove {', '.join(step.remove)}"] if step.remove else []
    return "; ".join(edits)


def show_decommission_plan(plan: DecommissionPlan) -> None:
    """The plan over every connector: verdict, table, warnings, blockers, and each connector's
    Set-SendConnector line in full, in the order apply sends them."""
    what = (f"remove {plan.server} from {len(plan.steps)} Send connector(s), one Set call "
            "each, verified before the next")
    parts: list[Any] = [f"Retiring `{plan.server}`. {_verdict(plan, what)}",
                        decommission_table(plan)]
    parts += _notes(plan.warnings, plan.blockers)
    lines = [step.powershell for step in plan.steps if step.changed]
    if lines and not plan.blockers:
        parts.append("The cmdlets apply will send, in this order, each verified before the "
                     "next:\n\n```powershell\n" + "\n".join(lines) + "\n```")
    show(*parts)


def show_decommission_verification(result: DecommissionResult | None) -> None:
    if result is None or not result.verifications:
        show("Nothing to verify: no change was sent.")
        return
    for verification in result.verifications:
        show_verification(verification)


# ---------------------------------------------------------------------------------------------
# Queues


def queue_table(health: QueueHealth) -> pd.DataFrame:
    """The queues that deliver over the connector, one row each; a server with none says so."""
    rows = []
    for row in health.rows:
        rows.append({
            "server": row.server,
            "queue": row.queue or "(none)",
            "delivery type": row.delivery_type or "",
            "next hop": row.next_hop or "",
            "status": row.status,
            "messages": row.message_count,
            "last error": row.last_error or "",
            "oldest message": duration_text(row.oldest_message_age)
            if row.oldest_message_age is not None else "",
            "expires in": duration_text(row.expires_in) if row.expires_in is not None else "",
        })
    columns = ["server", "queue", "delivery type", "next hop", "status", "messages",
               "last error", "oldest message", "expires in"]
    return pd.DataFrame(rows, columns=columns)


def show_queue_checks(checks: list[QueueHealth], apply: bool) -> None:
    """The queue checks made after a change, or why none was made."""
    if not checks:
        show("No queue check: " + ("nothing was applied." if not apply else
                                   "the change added no server or smart host."))
    for health in checks:
        show_queue_health(health)


def show_queue_health(health: QueueHealth) -> None:
    """The verdict, the table, and each problem in plain words."""
    timeouts = ", ".join(f"{server} {duration_text(timeout)}"
                         for server, timeout in health.expiration.items())
    parts: list[Any] = [
        (f"Queues of `{health.connector}` at {health.checked_at:%Y-%m-%d %H:%M} UTC. "
         f"**{health.verdict}**"),
        queue_table(health),
        (f"Messages expire under each server's MessageExpirationTimeout: {timeouts}. A server "
         "without a queue for the connector has nothing waiting for it."),
    ]
    if health.problems:
        parts.append("Problems:\n\n" + "\n".join(f"- {p}" for p in health.problems))
    show(*parts)
