"""One exception family for everything the runbooks raise.

Every error a runbook can show derives from :class:`RunbookError`, so a notebook or the
command line can catch one type and still say precisely what went wrong.
"""

from __future__ import annotations

from typing import Any


class RunbookError(Exception):
    """Base of every error raised by this library."""


class InputError(RunbookError):
    """A value given by the user that cannot be accepted.

    Args:
        value: the offending value exactly as it was given.
        problem: what is wrong with it.
        source: where it came from: a parameter name or a file path.
        line: the line number in ``source`` when it is a file.
        accepted: what would have been accepted instead.
    """

    def __init__(
        self,
        value: Any,
        problem: str,
        *,
        source: str = "input",
        line: int | None = None,
        accepted: str | None = None,
    ) -> None:
        self.value = value
        self.problem = problem
        self.source = source
        self.line = line
        self.accepted = accepted
        super().__init__(self._render())

    @property
    def where(self) -> str:
        return f"{self.source}, line {self.line}" if self.line is not None else self.source

    def _render(self) -> str:
        text = f"{self.where}: {_shown(self.value)}: {self.problem}"
        if self.accepted:
            text += f" (accepted: {self.accepted})"
        return text


def _shown(value: Any) -> str:
    """A value quoted as typed; Python's escapes only where they reveal something invisible
    (a non-breaking space, a zero-width character), never doubled backslashes."""
    if isinstance(value, str) and value.isprintable() and value.isascii():
        return f"'{value}'"
    if isinstance(value, str):
        return repr(value).replace("\\\\", "\\")
    return repr(value)


class InputErrors(RunbookError):
    """Several input errors found in one pass, so the user can fix them all at once.

    Args:
        errors: the individual errors, in the order they were found.
    """

    def __init__(self, errors: list[InputError]) -> None:
        self.errors = list(errors)
        lines = "\n".join(f"  - {e}" for e in self.errors)
        super().__init__(f"{len(self.errors)} invalid value(s); nothing was changed:\n{lines}")


class ExchangeError(RunbookError):
    """An error record returned by Exchange (or by the simulated organization).

    Exchange's own texts are kept untouched so that a search for the message finds the same
    articles an administrator would find.

    Args:
        message: Exchange's message text.
        cmdlet: the cmdlet that produced the error.
        category: the ErrorCategory name, for example ``NotSpecified``.
        reason: the exception name from CategoryInfo, for example
            ``AdminLimitExceededException``; tests assert on this.
        target: the target object, usually the identity.
        fully_qualified_error_id: the FullyQualifiedErrorId as Exchange wrote it.
        terminating: whether the pipeline failed, rather than only writing an error record.
    """

    def __init__(
        self,
        message: str,
        *,
        cmdlet: str = "",
        category: str = "NotSpecified",
        reason: str = "",
        target: str | None = None,
        fully_qualified_error_id: str = "",
        terminating: bool = False,
    ) -> None:
        self.message = message
        self.cmdlet = cmdlet
        self.category = category
        self.reason = reason
        self.target = target
        self.fully_qualified_error_id = fully_qualified_error_id
        self.terminating = terminating
        #: further error records of the same call, so none is lost from the record
        self.others: list[ExchangeError] = []
        super().__init__(message)

    def to_dict(self) -> dict[str, Any]:
        data = self._fields()
        if self.others:
            data["others"] = [other._fields() for other in self.others]
        return data

    def _fields(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "cmdlet": self.cmdlet,
            "category": self.category,
            "reason": self.reason,
            "target": self.target,
            "fully_qualified_error_id": self.fully_qualified_error_id,
            "terminating": self.terminating,
        }


class TransportError(RunbookError):
    """The connection to the endpoint failed; Exchange never answered the call."""


class AuthenticationError(TransportError):
    """The endpoint refused the credentials."""


class OutcomeUnknown(TransportError):
    """A mutating call was sent but its answer was lost.

    The change may or may not have been made; the only way to know is to read the object
    again, which the apply step does after reconnecting.

    Args:
        cmdlet: the call whose answer was lost.
        cause: the transport error behind it.
        acknowledged: the call was answered, but the read that verifies it failed.
    """

    def __init__(self, cmdlet: str, cause: BaseException, *, acknowledged: bool = False) -> None:
        self.cmdlet = cmdlet
        self.cause = cause
        #: Exchange answered the write, but reading the object back to verify it failed
        self.acknowledged = acknowledged
        #: the verification made after reconnecting, when the object could be read again
        self.reread: Any = None
        #: why it could not be read again
        self.reread_error: str | None = None
        super().__init__(cmdlet)

    def __str__(self) -> str:
        if self.acknowledged:
            return (f"{self.cmdlet} was acknowledged, but reading the object back to verify it "
                    f"failed ({self.cause}); outcome unknown: check it before running again")
        text = f"{self.cmdlet} was sent but its answer was lost ({self.cause}); outcome unknown"
        if self.reread is not None:
            state = ("it matches the plan, so the change was most likely made"
                     if getattr(self.reread, "ok", False) else
                     "it does not match the plan: check it before running again")
            text += f". Read again after reconnecting: {state}"
        elif self.reread_error:
            text += f". It could not be read again ({self.reread_error}): check it by hand"
        return text


class PlanRefused(RunbookError):
    """The requested change breaks a rule; nothing was sent.

    Args:
        reasons: one sentence per broken rule, each naming the value concerned.
    """

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = list(reasons)
        listed = "\n".join(f"  - {reason}" for reason in reasons)
        super().__init__(f"plan refused; nothing was changed:\n{listed}")


class ConcurrentChange(RunbookError):
    """The object changed between plan and apply; nothing was written.

    Args:
        identity: the object that changed.
        planned_before: the value the plan was built on.
        current: the value read just before applying.
    """

    def __init__(self, identity: str, planned_before: Any, current: Any) -> None:
        self.identity = identity
        self.planned_before = planned_before
        self.current = current
        super().__init__(
            f"{identity} changed since the plan was made; nothing was written. "
            "Run the plan again and review it."
        )


class VerificationFailed(RunbookError):
    """After applying, the object read back differs from the planned after-state.

    Args:
        identity: the object verified.
        missing: values the plan expected but the object lacks.
        unexpected: values the object has but the plan did not expect.
    """

    def __init__(self, identity: str, missing: list[str], unexpected: list[str]) -> None:
        self.identity = identity
        self.missing = list(missing)
        self.unexpected = list(unexpected)
        #: the verification behind the failure, for the record
        self.verification: Any = None
        super().__init__(
            f"{identity} does not match the plan after applying: "
            f"missing {self.missing or 'nothing'}, unexpected {self.unexpected or 'nothing'}"
            + ("; the planned change is in place, but the object also changed in another "
               "way meanwhile (someone else, or another run)" if not self.missing else "")
        )
