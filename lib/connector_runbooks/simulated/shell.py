"""The shell over the simulated organization, in-process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ExchangeError
from ..shell import Shell, plain_record
from .organization import Organization, default_state_path
from .wire import to_python


def error_from_wire(error: Any) -> ExchangeError:
    """The shell's exception for one wire error record."""
    return ExchangeError(
        error.message,
        cmdlet=error.cmdlet,
        category=error.category,
        reason=error.reason,
        target=error.target,
        fully_qualified_error_id=error.fully_qualified_error_id,
        terminating=error.terminating,
    )


class SimulatedShell(Shell):
    """Runs cmdlets against the simulated organization whose state lives in ``state_path``.

    Args:
        state_path: the organization's state file; created with the demo organization when
            missing.
    """

    transport = "simulated"

    def __init__(self, state_path: Path | str | None = None) -> None:
        super().__init__()
        self.organization = Organization(Path(state_path) if state_path else default_state_path())
        self.transcript.session["state_path"] = str(self.organization.state_path)

    def _invoke(
        self, cmdlet: str, parameters: dict[str, Any]
    ) -> tuple[list[dict[str, Any]], list[str]]:
        result = self.organization.execute(cmdlet, dict(parameters))
        if result.errors:
            error = error_from_wire(result.errors[0])
            error.others = [error_from_wire(other) for other in result.errors[1:]]
            raise error
        records = [
            plain_record({name: to_python(v) for name, v in obj.properties.items()})
            for obj in result.output
        ]
        return records, list(result.warnings)
