"""Running one PSRP pipeline against the simulated organization, as Exchange's endpoint would.

The endpoint runs in no-language mode: only commands with parameters run. Script text fails
the pipeline with the no-language parse error, and nothing in it runs. Arguments arrive as
psrpcore types and are made plain before the organization sees them; its answers go back as
Exchange-shaped objects, error records and warnings.

Two kinds of error reach the client, and both must be produced because the client has to
handle both:

- a non-terminating error record, written to the error stream while the pipeline completes
  (most Exchange validation errors);
- a failed pipeline, with the error record inside the final PipelineState message (script text,
  unknown commands, parameter binding errors).
"""

from __future__ import annotations

import enum
import logging
from typing import Any, Protocol

from psrpcore import ServerPipeline
from psrpcore.types import (
    ErrorCategory,
    ErrorCategoryInfo,
    ErrorRecord,
    NETException,
    PSCredential,
    PSInvocationState,
    PSList,
    PSNoteProperty,
    PSObject,
    PSSecureString,
    PSString,
)

from ..simulated.wire import CommandResult, MultiValued, WireError, WireObject
from .faults import Fault, Faults

logger = logging.getLogger(__name__)

#: The psrpcore release whose private pipeline state change :func:`fail_pipeline` relies on.
PSRPCORE_VERSION = "0.3.1"

NO_LANGUAGE_TEXT = (
    "The syntax is not supported by this runspace. This can occur if the runspace is in "
    "no-language mode."
)


class Organization(Protocol):
    """What the emulator needs from the simulated organization."""

    def execute(self, cmdlet: str, params: dict[str, Any]) -> CommandResult: ...


class SecureText:
    """A SecureString's text, kept out of every repr, str and log line.

    Args:
        secure: the SecureString as it arrived; decrypted only when :meth:`reveal` is called.
    """

    def __init__(self, secure: PSSecureString) -> None:
        self._secure = secure

    def reveal(self) -> str:
        return str(self._secure.decrypt())

    def __repr__(self) -> str:
        return "SecureText(***)"

    __str__ = __repr__


class ConnectionFault(Exception):
    """Raised through the protocol layers so the HTTP layer can drop or delay its answer.

    Args:
        fault: the fault that fired.
    """

    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        super().__init__(f"{fault.kind} on {fault.cmdlet}")


# ---------------------------------------------------------------------------------------------
# Values in and out


def to_plain(value: Any) -> Any:
    """A psrpcore argument value as plain Python, so the simulator never sees psrpcore types.

    Strings, integers, lists and hashtables become str, int, list and dict; a SecureString
    becomes :class:`SecureText`; a PSCredential a dict with ``UserName`` and ``Password``.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, PSSecureString):
        return SecureText(value)
    if isinstance(value, PSCredential):
        return {"UserName": str(value.UserName), "Password": to_plain(value.Password)}
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, dict):
        return {to_plain(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(item) for item in value]
    if isinstance(value, PSObject):
        meta = value.PSObject
        properties = [*meta.adapted_properties, *meta.extended_properties]
        if properties:
            return {p.name: to_plain(p.get_value(value)) for p in properties}
        return str(value)
    return value


def _wire_value(value: Any) -> Any:
    if isinstance(value, MultiValued):
        items = PSList([None if v is None else PSString(v) for v in value.values])
        items.PSObject.type_names = list(value.type_names)
        return items
    if isinstance(value, tuple):
        return list(value)
    return value


def to_psobject(wire: WireObject) -> PSObject:
    """One output object as Exchange sends it.

    Type names come without ``Deserialized.`` (the client adds it) and end with
    ``System.Object``, without which pypsrp hands the client raw XML instead of an object.
    """
    obj = PSObject()
    type_names = list(wire.type_names)
    if not type_names or type_names[-1] != "System.Object":
        type_names.append("System.Object")
    obj.PSObject.type_names = type_names
    obj.PSObject.to_string = wire.to_string
    for name, value in wire.properties.items():
        obj.PSObject.adapted_properties.append(PSNoteProperty(name, _wire_value(value)))
    return obj


# ---------------------------------------------------------------------------------------------
# Error records


def _exception(message: str, type_names: list[str] | None = None) -> NETException:
    exception = NETException(Message=message)
    if type_names:
        exception.PSObject.type_names = [*type_names, *exception.PSTypeNames]
    return exception


def error_record(error: WireError) -> ErrorRecord:
    """The PSRP error record for one of the organization's errors."""
    try:
        category = ErrorCategory[error.category]
    except KeyError:
        category = ErrorCategory.NotSpecified
    return ErrorRecord(
        Exception=_exception(error.message),
        CategoryInfo=ErrorCategoryInfo(
            Category=category,
            Activity=error.cmdlet,
            Reason=error.reason,
            TargetName=error.target or "",
        ),
        TargetObject=error.target,
        FullyQualifiedErrorId=error.fully_qualified_error_id or error.reason,
    )


def engine_error(
    message: str,
    *,
    category: ErrorCategory,
    reason: str,
    exception_type: str,
    target: str = "",
    fully_qualified_error_id: str,
    activity: str = "",
) -> ErrorRecord:
    """An error record of the PowerShell engine itself (parser, command discovery, binder)."""
    return ErrorRecord(
        Exception=_exception(message, [exception_type]),
        CategoryInfo=ErrorCategoryInfo(
            Category=category,
            Activity=activity,
            Reason=reason,
            TargetName=target,
            TargetType="String" if target else "",
        ),
        TargetObject=target or None,
        FullyQualifiedErrorId=fully_qualified_error_id,
    )


def no_language_error(script: str) -> ErrorRecord:
    """What Exchange's no-language endpoint answers to any script text."""
    return engine_error(
        NO_LANGUAGE_TEXT,
        category=ErrorCategory.ParserError,
        reason="ParseException",
        exception_type="System.Management.Automation.ParseException",
        target=script,
        fully_qualified_error_id="ScriptsNotAllowed",
    )


def positional_error(cmdlet: str, value: Any) -> ErrorRecord:
    """The binder's error for a positional argument no parameter takes."""
    return engine_error(
        f"A positional parameter cannot be found that accepts argument '{value}'.",
        category=ErrorCategory.InvalidArgument,
        reason="ParameterBindingException",
        exception_type="System.Management.Automation.ParameterBindingException",
        fully_qualified_error_id=f"PositionalParameterNotFound,{cmdlet}",
        activity=cmdlet,
    )


def fail_pipeline(pipe: ServerPipeline, error: ErrorRecord) -> None:
    """End ``pipe`` in the Failed state with ``error`` inside its PipelineState message.

    psrpcore 0.3.1 offers only ``complete()`` and ``stop()`` on a server pipeline; failing takes
    its private state change. This helper is the one place that does so, and a test pins it so
    that a psrpcore upgrade which changes the private method fails loudly instead of silently
    turning failures into completions.
    """
    change_state = getattr(pipe, "_change_state", None)
    if change_state is None:  # pragma: no cover - only after a psrpcore upgrade
        raise RuntimeError(
            "psrpcore's ServerPipeline has no _change_state any more; fail_pipeline was written "
            f"for psrpcore {PSRPCORE_VERSION}"
        )
    change_state(PSInvocationState.Failed, error=error)


# ---------------------------------------------------------------------------------------------
# Running a pipeline


def _statements(commands: list[Any]) -> list[list[Any]]:
    statements: list[list[Any]] = [[]]
    for command in commands:
        statements[-1].append(command)
        if command.end_of_statement:
            statements.append([])
    return [s for s in statements if s]


def _identity(params: dict[str, Any]) -> str | None:
    for name, value in params.items():
        if name.lower() == "identity":
            return str(value)
    return None


class PipelineRunner:
    """Runs the pipelines of one emulator against its organization.

    Args:
        organization: executes one cmdlet with plain parameters.
        faults: faults to inject; consulted before each call.
        lock: serialises calls, because the organization keeps its state in one file.
    """

    def __init__(self, organization: Organization, faults: Faults, lock: Any) -> None:
        self.organization = organization
        self.faults = faults
        self.lock = lock

    @staticmethod
    def cmdlets(pipe: ServerPipeline) -> list[str]:
        """The command names of a received pipeline, for logging."""
        return [str(c.command_text) for c in pipe.metadata.commands] if pipe.metadata else []

    def run(self, pipe: ServerPipeline) -> Fault | None:
        """Run every statement of ``pipe`` and leave it Completed or Failed.

        Returns:
            A drop (``when="after"``) or delay fault that fired during the run; the answer is
            ready, and the HTTP layer now loses or holds it.

        Raises:
            ConnectionFault: a drop fault with ``when="before"`` fired; the call did not run.
        """
        pipe.start()
        fired: list[Fault] = []
        for statement in _statements(list(pipe.metadata.commands)):
            script = next((c for c in statement if c.is_script), None)
            if script is not None:
                logger.info("script text refused (no-language mode)")
                fail_pipeline(pipe, no_language_error(str(script.command_text)))
                break
            if self._run_statement(pipe, statement, fired):
                break
        else:
            pipe.complete()
        return fired[0] if fired else None

    def _run_statement(
        self, pipe: ServerPipeline, statement: list[Any], fired: list[Fault]
    ) -> bool:
        """Run one statement such as ``Get-X | Set-Y``; True when the pipeline failed."""
        piped: list[WireObject] | None = None
        for position, command in enumerate(statement):
            cmdlet = str(command.command_text)
            params, binding_error = self._bind(cmdlet, command.parameters)
            if binding_error is not None:
                fail_pipeline(pipe, binding_error)
                return True
            if piped is None:
                calls = [params]
            else:
                # Exchange's Set- and Remove- cmdlets take piped objects by their Identity.
                calls = [{**params, "Identity": str(o.properties.get("Identity", o.to_string))}
                         for o in piped]
            is_last = position == len(statement) - 1
            output: list[WireObject] = []
            for call in calls:
                result = self._execute(cmdlet, call, fired)
                if self._deliver(pipe, result, None if is_last else output):
                    return True
            piped = output
        return False

    @staticmethod
    def _bind(
        cmdlet: str, parameters: list[tuple[str | None, Any]]
    ) -> tuple[dict[str, Any], ErrorRecord | None]:
        params: dict[str, Any] = {}
        for name, value in parameters:
            if name is None:
                # Identity is position 0 of Exchange's Get-, Set- and Remove- cmdlets.
                if _identity(params) is not None:
                    return params, positional_error(cmdlet, to_plain(value))
                params["Identity"] = to_plain(value)
            else:
                params[str(name)] = to_plain(value)
        return params, None

    def _execute(self, cmdlet: str, params: dict[str, Any], fired: list[Fault]) -> CommandResult:
        logger.info("%s %s", cmdlet, _identity(params) or "")
        error = self.faults.take("error", cmdlet)
        if error is not None:
            logger.info("fault: an error record instead of running %s", cmdlet)
            return CommandResult(errors=[
                WireError(error.message, cmdlet, reason=error.reason, target=_identity(params))
            ])
        drop = self.faults.take("drop", cmdlet)
        if drop is not None and drop.when == "before":
            logger.info("fault: dropping the connection before running %s", cmdlet)
            raise ConnectionFault(drop)
        try:
            with self.lock:
                result = self.organization.execute(cmdlet, params)
        except Exception as error:  # noqa: BLE001 - a simulator bug must not kill the server
            logger.exception("the organization failed on %s", cmdlet)
            return CommandResult(errors=[WireError(
                f"The simulated organization failed: {type(error).__name__}: {error}", cmdlet,
                reason=type(error).__name__, terminating=True,
            )])
        late = drop or self.faults.take("delay", cmdlet)
        if late is not None:
            logger.info("fault: %s the answer after running %s", late.kind, cmdlet)
            fired.append(late)
        return result

    @staticmethod
    def _deliver(
        pipe: ServerPipeline, result: CommandResult, collect: list[WireObject] | None
    ) -> bool:
        """Write ``result`` to the pipeline (or collect its output for the next command);
        True when it failed the pipeline."""
        for warning in result.warnings:
            pipe.write_warning(warning)
        if collect is not None:
            collect.extend(result.output)
        else:
            for obj in result.output:
                pipe.write_output(to_psobject(obj))
        for error in result.errors:
            record = error_record(error)
            if error.terminating:
                fail_pipeline(pipe, record)
                return True
            pipe.write_error(
                record.Exception, record.CategoryInfo, record.TargetObject,
                record.FullyQualifiedErrorId,
            )
        return False
