"""Plans for RemoteIPRanges changes: compute before/after without touching anything, then apply.

A plan is Ansible's check-and-diff idea for one Receive connector: it holds the list before, the
list after, the entries added and removed, the requested entries that change nothing and why,
warnings, and the rules the change would break (blockers). Building a plan only reads.
:func:`apply_edit` is the one place that sends a change, for every kind of plan (the shell
refuses changes anywhere else); :func:`apply_plan` uses it to send Set-ReceiveConnector as one
``@{Add=...; Remove=...}`` edit and verify the result by reading the connector again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import ranges
from .connectors import (
    ServerConnectors,
    exchange_servers,
    find_receive_connector,
    read_receive_connector,
)
from .errors import (
    ConcurrentChange,
    InputError,
    InputErrors,
    OutcomeUnknown,
    PlanRefused,
    RunbookError,
    TransportError,
    VerificationFailed,
)
from .models import ReceiveConnector
from .shell import Shell, powershell_line

logger = logging.getLogger(__name__)

SET_CMDLET = "Set-ReceiveConnector"

#: A plan older than this is compared with a fresh read before it is applied.
RECHECK_AFTER_S = 5.0


def _entries(texts: Iterable[str]) -> set[ranges.IPRangeEntry]:
    return {ranges.from_exchange(t) for t in texts}


@dataclass
class Unchanged:
    """A requested entry that changes nothing, and why."""

    value: str
    source: str
    line: int | None
    reason: str


@dataclass
class RemoteIPRangesPlan:
    """What a RemoteIPRanges change would do to one Receive connector.

    Args:
        identity: the connector, ``SERVER\\Name``.
        before: the entries as read, in Exchange's display form.
        after: the entries the connector will hold once applied.
        add: entries the Set call adds.
        remove: entries the Set call removes, in the exact form the connector holds them.
        unchanged: requested entries that change nothing (already there, not there, covered).
        warnings: things to read before applying; they do not stop the change.
        blockers: broken rules; a plan with blockers cannot be applied.
    """

    identity: str
    before: list[str]
    after: list[str]
    add: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    unchanged: list[Unchanged] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)
    read_at: float = field(default=0.0, repr=False)

    @property
    def changed(self) -> bool:
        return bool(self.add or self.remove)

    @property
    def parameters(self) -> dict[str, Any]:
        edit: dict[str, list[str]] = {}
        if self.add:
            edit["Add"] = list(self.add)
        if self.remove:
            edit["Remove"] = list(self.remove)
        return {"Identity": self.identity, "RemoteIPRanges": edit}

    @property
    def powershell(self) -> str:
        """The Set call as a line a person can read; empty when nothing changes."""
        return powershell_line(SET_CMDLET, self.parameters) if self.changed else ""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("read_at")
        data.update(changed=self.changed, cmdlet=SET_CMDLET if self.changed else None,
                    parameters=self.parameters if self.changed else None,
                    powershell=self.powershell)
        return data


@dataclass
class Verification:
    """The connector as read after applying, compared with the plan."""

    identity: str
    expected: list[str]
    actual: list[str]
    missing: list[str]
    unexpected: list[str]

    @property
    def ok(self) -> bool:
        return not self.missing and not self.unexpected

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


@dataclass
class ApplyResult:
    """How an apply ended: ``applied``, ``no-op`` or ``unknown`` (answer lost)."""

    outcome: str
    verification: Verification | None = None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome,
                "verification": self.verification.to_dict() if self.verification else None,
                "warnings": list(self.warnings)}


# ---------------------------------------------------------------------------------------------
# Building a plan


def read_requested(
    add: str | Iterable[str] | None = None,
    remove: str | Iterable[str] | None = None,
    import_file: str | Path | None = None,
) -> tuple[list[ranges.SourcedEntry], list[ranges.SourcedEntry]]:
    """Parse every requested entry before anything is read or sent; report all bad values."""
    errors: list[InputError] = []
    to_add: list[ranges.SourcedEntry] = []
    to_remove: list[ranges.SourcedEntry] = []
    jobs: list[tuple[list[ranges.SourcedEntry], Any]] = [
        (to_add, lambda: ranges.parse_entries(add, source="parameter add")),
        (to_remove, lambda: ranges.parse_entries(remove, source="parameter remove")),
    ]
    if import_file:
        path = Path(import_file)
        if not path.is_file():
            raise InputError(str(import_file), f"no such file (looked for {path.resolve()})",
                             source="parameter import_file",
                             accepted="the path of a text file with one or more entries a line")
        jobs.append((to_add, lambda: ranges.read_entries_file(path)))
    for target, job in jobs:
        try:
            target.extend(job())
        except InputErrors as failure:
            errors.extend(failure.errors)
        except InputError as failure:
            errors.append(failure)
    if errors:
        raise InputErrors(errors)
    return to_add, to_remove


def plan_remote_ip_ranges(
    shell: Shell,
    connector: str | ServerConnectors,
    *,
    add: str | Iterable[str] | None = None,
    remove: str | Iterable[str] | None = None,
    import_file: str | Path | None = None,
    copy_from: str | None = None,
    allow_risky: bool = False,
) -> RemoteIPRangesPlan:
    """Plan a RemoteIPRanges change; only Get- cmdlets are sent.

    Args:
        shell: where to read from.
        connector: the connector to change, ``SERVER\\Name``, or a fresh read of it (from
            :func:`~connector_runbooks.connectors.read_receive_connector`), which saves a call.
        add: entries to add (a list, or text separated by commas, semicolons or lines).
        remove: entries to remove.
        import_file: a text file of entries to add.
        copy_from: another Receive connector whose entries are all added (the migration step).
        allow_risky: accept open-relay risks (all addresses, public or very wide ranges,
            ranges holding Exchange servers); they stay in the plan as warnings.
    """
    to_add, to_remove = read_requested(add, remove, import_file)
    current = (connector if isinstance(connector, ServerConnectors)
               else read_receive_connector(shell, connector))
    target = current.connector
    logger.info("planning RemoteIPRanges of %s", target.identity)
    if copy_from:
        source = find_receive_connector(shell, copy_from, source="parameter copy_from")
        label = f"connector {source.identity}"
        to_add.extend(
            ranges.SourcedEntry(ranges.from_exchange(text), text, label, None)
            for text in source.remote_ip_ranges
        )

    before = [ranges.from_exchange(text) for text in target.remote_ip_ranges]
    plan = RemoteIPRangesPlan(identity=target.identity, before=list(target.remote_ip_ranges),
                              after=[], read_at=current.read_at)
    if import_file and not any(e.source == str(Path(import_file)) for e in to_add):
        plan.warnings.append(f"{import_file} holds no entries (only blank lines or comments)")
    adding = _plan_additions(plan, before, to_add)
    removing = _plan_removals(plan, target, before, to_remove)

    for requested in to_add:
        if requested.entry in removing.values():
            plan.blockers.append(
                f"{requested.raw} ({requested.source}) is asked both to be added and removed")

    kept = [text for text, entry in zip(target.remote_ip_ranges, before)
            if text not in removing]
    plan.after = kept + [e.text for e in adding]
    after_entries = [e for e in before if e not in removing.values()] + adding
    _check_after(shell, plan, current, after_entries, adding, allow_risky)
    return plan


def _plan_additions(
    plan: RemoteIPRangesPlan, before: list[ranges.IPRangeEntry],
    to_add: list[ranges.SourcedEntry],
) -> list[ranges.IPRangeEntry]:
    comparison = ranges.compare(before, to_add)
    skipped: dict[int, str] = {}
    for requested, existing in comparison.duplicates:
        skipped[id(requested)] = f"already on the connector as {existing.text}"
    for requested, existing in comparison.contained:
        skipped.setdefault(id(requested), f"already covered by {existing.text}")
    for requested in comparison.repeated_in_request:
        skipped.setdefault(id(requested), "requested more than once")
    for requested, existing in comparison.partial_overlaps:
        plan.warnings.append(
            f"{requested.entry.text} ({requested.source}) partly overlaps {existing.text} "
            "already on the connector")

    adding: list[ranges.IPRangeEntry] = []
    for requested in to_add:
        _note_reading(plan, requested)
        reason = skipped.get(id(requested))
        if reason is None and requested.entry in adding:
            reason = "requested more than once"
        if reason:
            plan.unchanged.append(Unchanged(requested.raw, requested.source, requested.line,
                                            reason))
            continue
        adding.append(requested.entry)
        plan.add.append(requested.entry.text)
        covered = [e.text for e in before if requested.entry.contains(e) and e != requested.entry]
        if covered:
            shown = ", ".join(covered[:5]) + (f" and {len(covered) - 5} more"
                                              if len(covered) > 5 else "")
            plan.warnings.append(
                f"{requested.entry.text} ({requested.source}) covers {len(covered)} "
                f"entr{'y' if len(covered) == 1 else 'ies'} already on the connector ({shown}); "
                "they could be removed to stay clear of the entry limit")
    return adding


def _note_reading(plan: RemoteIPRangesPlan, requested: ranges.SourcedEntry) -> None:
    """Warn when an entry is read differently from how it was typed (host bits of a CIDR)."""
    entry = requested.entry
    if entry.form != "CIDR":
        return
    typed = ranges.normalize_text(requested.raw).split("/", 1)[0]
    if typed and typed.lower() != str(entry.first).lower():
        plan.warnings.append(
            f"{requested.raw} ({requested.where}) is read as {entry.text}: the host part is "
            "dropped, as Exchange does; write the network address to avoid surprises")


def _plan_removals(
    plan: RemoteIPRangesPlan, target: ReceiveConnector, before: list[ranges.IPRangeEntry],
    to_remove: list[ranges.SourcedEntry],
) -> dict[str, ranges.IPRangeEntry]:
    """Map each stored text to remove to its entry; removals name the stored text exactly."""
    removing: dict[str, ranges.IPRangeEntry] = {}
    for requested in to_remove:
        stored = next((text for text, entry in zip(target.remote_ip_ranges, before)
                       if entry == requested.entry), None)
        if stored is None:
            wider = next((e.text for e in before if e.contains(requested.entry)), None)
            reason = "not on the connector"
            if wider:
                reason += f"; it lies inside {wider}, which stays"
                plan.warnings.append(
                    f"{requested.raw} ({requested.where}) is not an entry of its own but lies "
                    f"inside {wider}: the device can still relay until {wider} is changed")
            plan.unchanged.append(Unchanged(requested.raw, requested.source, requested.line,
                                            reason))
        elif stored in removing:
            plan.unchanged.append(Unchanged(requested.raw, requested.source, requested.line,
                                            "requested more than once"))
        else:
            removing[stored] = requested.entry
            plan.remove.append(stored)
    return removing


def _check_after(
    shell: Shell, plan: RemoteIPRangesPlan, current: ServerConnectors,
    after: list[ranges.IPRangeEntry], adding: list[ranges.IPRangeEntry], allow_risky: bool,
) -> None:
    if not plan.changed:
        return
    if not after:
        plan.blockers.append(
            f"removing {len(plan.remove)} entr{'y' if len(plan.remove) == 1 else 'ies'} would "
            f"leave {plan.identity} without remote IP ranges; Exchange refuses an empty list. "
            "Add the replacement entries in the same change, or disable the connector instead.")
    if 0.9 * ranges.MAX_REMOTE_IP_RANGES < len(after) <= ranges.MAX_REMOTE_IP_RANGES:
        plan.warnings.append(
            f"{plan.identity} would hold {len(after)} entries, close to the limit of about "
            f"{ranges.MAX_REMOTE_IP_RANGES}; consider merging runs of addresses into ranges")
    if len(after) > ranges.MAX_REMOTE_IP_RANGES:
        plan.blockers.append(
            f"{plan.identity} would hold {len(after)} entries; Exchange accepts about "
            f"{ranges.MAX_REMOTE_IP_RANGES} and refuses more with AdminLimitExceededException. "
            "Merge runs of addresses into ranges, or spread them over a second connector.")
        for run, merged in ranges.merge_suggestions(after)[:10]:
            plan.warnings.append(f"{len(run)} entries from {run[0].text} to {run[-1].text} "
                                 f"could be one entry: {merged.text}")

    if plan.remove and current.connector.created_by_setup:
        message = (f"{plan.identity} is a connector Exchange setup creates; mail from the "
                   "internet, clients or other Exchange servers depends on its ranges, and "
                   f"removing {', '.join(plan.remove)} would refuse it")
        if allow_risky:
            plan.warnings.append(f"{message} (accepted: allow_risky is set)")
        else:
            plan.blockers.append(f"{message}. Set allow_risky to accept it.")

    servers = {s.name: s.addresses for s in exchange_servers(shell)}
    for risk in ranges.risks(adding, exchange_servers=servers):
        if allow_risky:
            plan.warnings.append(f"{risk.message} (accepted: allow_risky is set)")
        else:
            plan.blockers.append(f"{risk.message}. Set allow_risky to accept it.")

    _check_conflicts(plan, current, after)


def _check_conflicts(
    plan: RemoteIPRangesPlan, current: ServerConnectors, after: list[ranges.IPRangeEntry],
) -> None:
    """Predict Exchange's conflict rule between connectors of one server (same role, shared
    binding): an identical or partly overlapping range on another connector is refused."""
    target = current.connector
    for other in current.neighbours:
        if other.transport_role != target.transport_role:
            continue
        same = set(other.bindings) & set(target.bindings)
        overlapping = same or _bindings_overlap(other.bindings, target.bindings)
        if not overlapping:
            continue
        theirs = [ranges.from_exchange(t) for t in other.remote_ip_ranges]
        for mine in after:
            for entry in theirs:
                if (same and mine == entry) or mine.partially_overlaps(entry):
                    plan.blockers.append(
                        f"{mine.text} conflicts with {entry.text} on {other.identity}, which "
                        "shares a binding in the same transport role; Exchange refuses "
                        "identical or partly overlapping ranges there")


def _bindings_overlap(first: list[str], second: list[str]) -> bool:
    def split(binding: str) -> tuple[str, str]:
        address, _, port = binding.rpartition(":")
        return address.strip("[]"), port

    for a in map(split, first):
        for b in map(split, second):
            same_family = (":" in a[0]) == (":" in b[0])
            wildcard = a[0] in {"0.0.0.0", "::"} or b[0] in {"0.0.0.0", "::"}
            if a[1] == b[1] and same_family and wildcard:
                return True
    return False


# ---------------------------------------------------------------------------------------------
# Applying and verifying


def verify(shell: Shell, plan: RemoteIPRangesPlan) -> Verification:
    """Read the connector again and compare its entries with the planned after-state."""
    actual = find_receive_connector(shell, plan.identity).remote_ip_ranges
    expected_entries = {ranges.from_exchange(t): t for t in plan.after}
    actual_entries = {ranges.from_exchange(t): t for t in actual}
    return Verification(
        identity=plan.identity,
        expected=list(plan.after),
        actual=list(actual),
        missing=[t for e, t in expected_entries.items() if e not in actual_entries],
        unexpected=[t for e, t in actual_entries.items() if e not in expected_entries],
    )


def refuse_if_blocked(plan: Any) -> None:
    """Stop the run when the plan (of any kind: it has ``blockers``) breaks a rule, in plan
    mode as in apply mode."""
    if plan.blockers:
        raise PlanRefused(plan.blockers)


def apply_edit(
    shell: Shell,
    plan: Any,
    cmdlet: str,
    *,
    unchanged_since_plan: Callable[[], tuple[bool, Any]],
    verify: Callable[[], Any],
    mismatch: Callable[[Any], VerificationFailed] | None = None,
    recheck_after_s: float = RECHECK_AFTER_S,
) -> ApplyResult:
    """The one way a plan is applied, for every kind of plan.

    Refuse a plan with blockers; report a plan without changes as a no-op; compare a plan read
    more than ``recheck_after_s`` seconds ago (a person reviewed it before applying) with a
    fresh read; send ``cmdlet`` once with the plan's parameters; read again and verify. A plan
    made moments ago in the same run is not read twice, so a headless change costs one read,
    one write and one verifying read. Exchange has no conditional write, so no check closes
    the window between the last read and the write completely.

    Args:
        plan: has ``identity``, ``blockers``, ``changed``, ``read_at``, ``parameters`` and
            ``powershell``.
        unchanged_since_plan: reads the object; returns (whether it still matches the plan's
            before-state, what was read).
        verify: reads the object and compares it with the plan's after-state; the result has
            ``ok``, ``missing`` and ``unexpected``.
        mismatch: builds the error for a failed verification (default: from missing and
            unexpected).

    Raises:
        PlanRefused: the plan has blockers; nothing was sent.
        ConcurrentChange: the object changed since the plan was made; nothing was sent.
        OutcomeUnknown: the answer to the write was lost; ``error.reread`` holds the
            verification made after reconnecting.
        VerificationFailed: the object read back differs from the plan.
    """
    refuse_if_blocked(plan)
    if not plan.changed:
        logger.info("%s: nothing to change", plan.identity)
        return ApplyResult("no-op")

    if time.monotonic() - plan.read_at >= recheck_after_s:
        still, current = unchanged_since_plan()
        if not still:
            raise ConcurrentChange(plan.identity, plan.before, current)

    logger.info("applying %s", plan.powershell)
    try:
        with shell.changes_allowed():
            shell.invoke(cmdlet, **plan.parameters)
    except OutcomeUnknown as lost:
        try:
            shell.reconnect()
            lost.reread = verify()
        except RunbookError as unreachable:
            # still unknown: say so rather than let the reconnect error hide the lost write
            lost.reread_error = str(unreachable)
        raise
    warnings = list(shell.transcript.entries[-1].warnings)
    try:
        verification = verify()
    except TransportError as unreadable:
        # Exchange acknowledged the write; only the proof is missing
        raise OutcomeUnknown(cmdlet, unreadable, acknowledged=True) from unreadable
    if not verification.ok:
        failure = (mismatch(verification) if mismatch else
                   VerificationFailed(plan.identity, verification.missing,
                                      verification.unexpected))
        failure.verification = verification
        raise failure
    return ApplyResult("applied", verification, warnings)


def apply_plan(
    shell: Shell, plan: RemoteIPRangesPlan, *, recheck_after_s: float = RECHECK_AFTER_S
) -> ApplyResult:
    """Send the plan as one Set-ReceiveConnector ``@{Add=...; Remove=...}`` edit, then verify
    (see :func:`apply_edit` for the checks and the errors)."""

    def unchanged_since_plan() -> tuple[bool, list[str]]:
        current = find_receive_connector(shell, plan.identity).remote_ip_ranges
        return _entries(current) == _entries(plan.before), current

    return apply_edit(shell, plan, SET_CMDLET, unchanged_since_plan=unchanged_since_plan,
                      verify=lambda: verify(shell, plan), recheck_after_s=recheck_after_s)


def outcome_of(plan: Any, result: Any) -> str:
    """The record's outcome for any kind of plan and apply result: ``applied``, ``no-op``, or
    ``planned`` when apply was not asked."""
    if result is not None:
        return result.outcome
    return "planned" if plan.changed else "no-op"
