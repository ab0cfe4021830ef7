"""The RemoteIPRanges plan: what it computes, what it refuses, and that planning never writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from connector_runbooks import plan as planning
from connector_runbooks.connectors import find_receive_connector
from connector_runbooks.errors import (
    ConcurrentChange,
    InputErrors,
    OutcomeUnknown,
    PlanRefused,
    TransportError,
    VerificationFailed,
)
from connector_runbooks.shell import is_mutating
from connector_runbooks.simulated.shell import SimulatedShell
from helpers import ReadOnlyShell

NEW = r"EX02\Relay Scanners"
OLD = r"EX01\Relay Scanners"


def entries_of(shell: SimulatedShell, identity: str) -> list[str]:
    return find_receive_connector(shell, identity).remote_ip_ranges


def test_plan_mode_never_sends_a_mutating_cmdlet(state_path: Path, tmp_path: Path) -> None:
    guarded = ReadOnlyShell(state_path)
    listing = tmp_path / "devices.txt"
    listing.write_text("10.50.0.1\n10.50.0.2\n", encoding="utf-8")
    existing = entries_of(guarded, NEW)[0]

    plan = planning.plan_remote_ip_ranges(guarded, NEW, add=["10.50.0.9"], remove=[existing],
                                          import_file=listing, copy_from=OLD)

    assert plan.changed
    assert not [e for e in guarded.transcript.entries if is_mutating(e.cmdlet)]


def test_adding_entries_plans_one_hashtable_edit(shell: SimulatedShell) -> None:
    plan = planning.plan_remote_ip_ranges(shell, NEW, add="10.50.0.1, 10.50.1.0/29")

    assert plan.parameters == {"Identity": NEW,
                               "RemoteIPRanges": {"Add": ["10.50.0.1", "10.50.1.0/29"]}}
    assert plan.after == plan.before + ["10.50.0.1", "10.50.1.0/29"]
    assert plan.powershell == ("Set-ReceiveConnector -Identity 'EX02\\Relay Scanners' "
                               "-RemoteIPRanges @{Add='10.50.0.1','10.50.1.0/29'}")


def test_an_entry_equal_by_bounds_to_an_existing_one_changes_nothing(
    shell: SimulatedShell,
) -> None:
    planning.apply_plan(shell, planning.plan_remote_ip_ranges(shell, NEW, add="10.60.0.0/30"))

    plan = planning.plan_remote_ip_ranges(shell, NEW, add="10.60.0.0-10.60.0.3")

    assert not plan.changed
    assert plan.unchanged[0].reason == "already on the connector as 10.60.0.0/30"


def test_an_entry_inside_a_wider_existing_one_is_not_added(shell: SimulatedShell) -> None:
    planning.apply_plan(shell, planning.plan_remote_ip_ranges(shell, NEW, add="10.61.0.0/24"))

    plan = planning.plan_remote_ip_ranges(shell, NEW, add="10.61.0.77")

    assert not plan.changed
    assert "covered by 10.61.0.0/24" in plan.unchanged[0].reason


def test_removing_an_absent_entry_is_reported_not_sent(shell: SimulatedShell) -> None:
    plan = planning.plan_remote_ip_ranges(shell, NEW, remove="10.99.99.99")

    assert not plan.changed
    assert plan.unchanged[0].reason == "not on the connector"


def test_removal_names_the_entry_as_the_connector_stores_it(shell: SimulatedShell) -> None:
    planning.apply_plan(shell, planning.plan_remote_ip_ranges(shell, NEW, add="10.62.0.0/30"))

    plan = planning.plan_remote_ip_ranges(shell, NEW, remove="10.62.0.0-10.62.0.3")

    assert plan.remove == ["10.62.0.0/30"]


def test_apply_sends_one_set_however_many_entries_change(shell: SimulatedShell) -> None:
    many = [f"10.70.{i // 200}.{i % 200 + 1}" for i in range(150)]
    plan = planning.plan_remote_ip_ranges(shell, NEW, add=many,
                                          remove=entries_of(shell, NEW)[0])

    result = planning.apply_plan(shell, plan)

    assert result.outcome == "applied" and result.verification.ok
    sets = shell.transcript.calls("Set")
    assert len(sets) == 1
    edit = sets[0].parameters["RemoteIPRanges"]
    assert isinstance(edit, dict) and len(edit["Add"]) == 150 and len(edit["Remove"]) == 1


def test_the_same_change_again_is_a_no_op(shell: SimulatedShell) -> None:
    planning.apply_plan(shell, planning.plan_remote_ip_ranges(shell, NEW, add="10.50.0.1"))
    before = entries_of(shell, NEW)

    again = planning.plan_remote_ip_ranges(shell, NEW, add="10.50.0.1")
    result = planning.apply_plan(shell, again)

    assert result.outcome == "no-op"
    assert entries_of(shell, NEW) == before
    assert len(shell.transcript.calls("Set")) == 1


def test_removing_every_entry_is_refused_and_nothing_is_sent(shell: SimulatedShell) -> None:
    plan = planning.plan_remote_ip_ranges(shell, NEW, remove=entries_of(shell, NEW))

    assert any("without remote IP ranges" in b for b in plan.blockers)
    with pytest.raises(PlanRefused):
        planning.apply_plan(shell, plan)
    assert not shell.transcript.calls("Set")


def test_the_all_addresses_range_is_refused_without_the_override(shell: SimulatedShell) -> None:
    refused = planning.plan_remote_ip_ranges(shell, NEW, add="0.0.0.0-255.255.255.255")
    allowed = planning.plan_remote_ip_ranges(shell, NEW, add="0.0.0.0-255.255.255.255",
                                             allow_risky=True)

    assert any("Set allow_risky" in b for b in refused.blockers)
    assert not any("allow_risky" in b for b in allowed.blockers)
    assert any("allow_risky is set" in w for w in allowed.warnings)


def test_a_range_another_connector_of_the_server_holds_is_refused(
    shell: SimulatedShell,
) -> None:
    theirs = entries_of(shell, r"EX01\Relay Applications")[0]

    plan = planning.plan_remote_ip_ranges(shell, OLD, add=theirs)

    assert any("Relay Applications" in b for b in plan.blockers)


def test_a_range_holding_an_exchange_server_is_refused(shell: SimulatedShell) -> None:
    plan = planning.plan_remote_ip_ranges(shell, NEW, add="10.0.1.0/28")

    assert any("EX01" in b for b in plan.blockers)


def test_1400_entries_are_refused_before_anything_is_sent(shell: SimulatedShell) -> None:
    many = [f"10.80.{i // 250}.{i % 250 + 1}" for i in range(1400)]

    plan = planning.plan_remote_ip_ranges(shell, NEW, add=many)

    assert any("1,200" in b or "1200" in b for b in plan.blockers)
    with pytest.raises(PlanRefused):
        planning.apply_plan(shell, plan)
    assert not shell.transcript.calls("Set")


def test_a_file_with_one_bad_line_is_refused_naming_the_line(
    shell: SimulatedShell, tmp_path: Path
) -> None:
    listing = tmp_path / "devices.txt"
    listing.write_text("10.50.0.1\n# comment\n10.50.0.300\n10.50.0.2\n", encoding="utf-8")
    before = entries_of(shell, NEW)

    with pytest.raises(InputErrors) as failure:
        planning.plan_remote_ip_ranges(shell, NEW, import_file=listing)

    error = failure.value.errors[0]
    assert (error.source, error.line, error.value) == (str(listing), 3, "10.50.0.300")
    assert entries_of(shell, NEW) == before
    assert not shell.transcript.calls("Set")


def test_copy_from_adds_only_what_the_target_lacks(shell: SimulatedShell) -> None:
    old, new = entries_of(shell, OLD), entries_of(shell, NEW)

    plan = planning.plan_remote_ip_ranges(shell, NEW, copy_from=OLD)

    assert len(plan.add) + len(plan.unchanged) == len(old)
    assert not set(plan.add) & set(new)
    assert all(u.source == f"connector {OLD}" for u in plan.unchanged)


def test_a_fresh_plan_costs_one_read_one_write_and_one_verifying_read(
    shell: SimulatedShell,
) -> None:
    plan = planning.plan_remote_ip_ranges(shell, NEW, add="10.50.0.1")
    planning.apply_plan(shell, plan)

    calls = [e.cmdlet for e in shell.transcript.entries if e.cmdlet != "Get-ExchangeServer"]
    assert calls == ["Get-ReceiveConnector", "Set-ReceiveConnector", "Get-ReceiveConnector"]


def test_a_change_made_after_the_plan_stops_the_apply(shell: SimulatedShell) -> None:
    plan = planning.plan_remote_ip_ranges(shell, NEW, add="10.50.0.1")
    other = planning.plan_remote_ip_ranges(shell, NEW, add="10.50.0.2")
    planning.apply_plan(shell, other)

    with pytest.raises(ConcurrentChange):
        planning.apply_plan(shell, plan, recheck_after_s=0)
    assert "10.50.0.1" not in entries_of(shell, NEW)


def test_a_result_that_differs_from_the_plan_fails_verification(state_path: Path) -> None:
    class SwallowingShell(SimulatedShell):
        def _invoke(self, cmdlet: str, parameters: dict[str, Any]):
            if cmdlet == "Set-ReceiveConnector":
                return [], []
            return super()._invoke(cmdlet, parameters)

    shell = SwallowingShell(state_path)
    plan = planning.plan_remote_ip_ranges(shell, NEW, add="10.50.0.1")

    with pytest.raises(VerificationFailed) as failure:
        planning.apply_plan(shell, plan)
    assert failure.value.missing == ["10.50.0.1"]


def test_a_lost_answer_is_reported_unknown_with_the_connector_read_again(
    state_path: Path,
) -> None:
    class DroppingShell(SimulatedShell):
        reconnected = False

        def _invoke(self, cmdlet: str, parameters: dict[str, Any]):
            if cmdlet == "Set-ReceiveConnector":
                super()._invoke(cmdlet, parameters)
                raise OutcomeUnknown(cmdlet, TransportError("connection reset"))
            return super()._invoke(cmdlet, parameters)

        def reconnect(self) -> None:
            self.reconnected = True

    shell = DroppingShell(state_path)
    plan = planning.plan_remote_ip_ranges(shell, NEW, add="10.50.0.1")

    with pytest.raises(OutcomeUnknown) as failure:
        planning.apply_plan(shell, plan)
    assert shell.reconnected
    assert failure.value.reread.ok and "10.50.0.1" in failure.value.reread.actual


def test_a_lost_answer_stays_unknown_when_the_server_cannot_be_reached_again(
    state_path: Path,
) -> None:
    class GoneShell(SimulatedShell):
        def _invoke(self, cmdlet: str, parameters: dict[str, Any]):
            if cmdlet == "Set-ReceiveConnector":
                raise OutcomeUnknown(cmdlet, TransportError("connection reset"))
            return super()._invoke(cmdlet, parameters)

        def reconnect(self) -> None:
            raise TransportError("connection refused")

    shell = GoneShell(state_path)
    plan = planning.plan_remote_ip_ranges(shell, NEW, add="10.50.0.1")

    with pytest.raises(OutcomeUnknown) as failure:
        planning.apply_plan(shell, plan)
    assert failure.value.reread is None
    assert "could not be read again (connection refused)" in str(failure.value)


def test_a_failed_verification_keeps_what_was_read_back(state_path: Path) -> None:
    class MeddlingShell(SimulatedShell):
        def _invoke(self, cmdlet: str, parameters: dict[str, Any]):
            records, warnings = super()._invoke(cmdlet, parameters)
            if cmdlet == "Set-ReceiveConnector":  # someone else adds an entry meanwhile
                super()._invoke(cmdlet, {"Identity": NEW,
                                         "RemoteIPRanges": {"Add": ["10.50.0.99"]}})
            return records, warnings

    shell = MeddlingShell(state_path)
    plan = planning.plan_remote_ip_ranges(shell, NEW, add="10.50.0.1")

    with pytest.raises(VerificationFailed) as failure:
        planning.apply_plan(shell, plan)
    assert failure.value.verification.unexpected == ["10.50.0.99"]
    assert "the planned change is in place" in str(failure.value)


def test_a_cidr_typed_with_host_bits_is_added_as_its_network_with_a_warning(
    shell: SimulatedShell,
) -> None:
    plan = planning.plan_remote_ip_ranges(shell, NEW, add="10.90.0.77/24")

    assert plan.add == ["10.90.0.0/24"]
    assert any("10.90.0.77/24" in w and "host part is dropped" in w for w in plan.warnings)


def test_a_wider_range_that_covers_existing_entries_is_pointed_out(shell: SimulatedShell) -> None:
    plan = planning.plan_remote_ip_ranges(shell, OLD, add="10.20.1.0/24")

    assert any("covers" in w and "10.20.1.11" in w for w in plan.warnings)


def test_removing_an_address_inside_a_wider_entry_warns_that_it_can_still_relay(
    shell: SimulatedShell,
) -> None:
    plan = planning.plan_remote_ip_ranges(shell, OLD, remove="10.20.3.15")

    assert not plan.changed
    assert any("can still relay" in w and "10.20.3.10-10.20.3.20" in w for w in plan.warnings)


def test_an_import_file_without_entries_is_pointed_out(
    shell: SimulatedShell, tmp_path: Path
) -> None:
    listing = tmp_path / "empty.txt"
    listing.write_text("# nothing yet\n\n", encoding="utf-8")

    plan = planning.plan_remote_ip_ranges(shell, NEW, import_file=listing)

    assert any("holds no entries" in w for w in plan.warnings)


def test_a_shell_refuses_changes_outside_the_apply_step(shell: SimulatedShell) -> None:
    from connector_runbooks.errors import RunbookError

    with pytest.raises(RunbookError, match="only the apply step sends changes"):
        shell.invoke("Set-ReceiveConnector", Identity=NEW, Comment="x")
    assert shell.transcript.entries == []


def test_a_plain_list_for_a_multi_valued_property_is_never_sent(shell: SimulatedShell) -> None:
    from connector_runbooks.errors import RunbookError

    before = entries_of(shell, NEW)
    with shell.changes_allowed(), pytest.raises(RunbookError, match="replace the whole list"):
        shell.invoke("Set-ReceiveConnector", Identity=NEW, RemoteIPRanges=["10.50.0.1"])
    assert entries_of(shell, NEW) == before


def test_a_write_that_cannot_be_read_back_is_unknown_not_failed(state_path: Path) -> None:
    class BlindShell(SimulatedShell):
        written = False

        def _invoke(self, cmdlet: str, parameters: dict[str, Any]):
            if self.written:
                raise TransportError("connection reset")
            self.written = cmdlet == "Set-ReceiveConnector"
            return super()._invoke(cmdlet, parameters)

    shell = BlindShell(state_path)
    plan = planning.plan_remote_ip_ranges(shell, NEW, add="10.50.0.1")

    with pytest.raises(OutcomeUnknown, match="was acknowledged") as failure:
        planning.apply_plan(shell, plan)
    assert failure.value.acknowledged


def test_removing_ranges_from_a_connector_setup_created_is_refused_without_override(
    shell: SimulatedShell,
) -> None:
    default = "EX01\\Default Frontend EX01"
    entry = entries_of(shell, default)[0]

    refused = planning.plan_remote_ip_ranges(shell, default, remove=entry)
    allowed = planning.plan_remote_ip_ranges(shell, default, remove=entry, allow_risky=True)

    assert any("Exchange setup creates" in b for b in refused.blockers)
    assert not any("setup creates" in b for b in allowed.blockers)
