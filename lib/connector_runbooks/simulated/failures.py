"""How a simulated cmdlet fails: Exchange error records and PowerShell's terminating errors."""

from __future__ import annotations


class CmdletFailure(Exception):
    """An Exchange validation or lookup error: an error record, the pipeline still completes.

    The call that raises it changes nothing.

    Args:
        reason: the exception name, for example ``AdminLimitExceededException``; it appears
            in CategoryInfo and in the ``FailureCategory=Cmdlet-…`` part of the error id.
        message: Exchange's text, or the simulator's own stable text where Exchange's is
            unknown (reference section 10.1).
        target: the object concerned, usually the identity as given.
        category: the ErrorCategory name; Exchange's own errors are ``NotSpecified``.
    """

    def __init__(
        self, reason: str, message: str, *, target: str | None = None,
        category: str = "NotSpecified",
    ) -> None:
        self.reason = reason
        self.message = message
        self.target = target
        self.category = category
        super().__init__(message)


class TerminatingFailure(Exception):
    """A PowerShell error that fails the whole pipeline (binding, unknown command, prompts).

    Args:
        reason: the exception name, for example ``ParameterBindingException``.
        message: PowerShell's text.
        error_id: the first part of FullyQualifiedErrorId, for example
            ``NamedParameterNotFound``; the cmdlet name is appended after a comma.
        category: the ErrorCategory name, for example ``InvalidArgument``.
        target: the offending name or value.
    """

    def __init__(
        self, reason: str, message: str, *, error_id: str, category: str,
        target: str | None = None,
    ) -> None:
        self.reason = reason
        self.message = message
        self.error_id = error_id
        self.category = category
        self.target = target
        super().__init__(message)


def binding_failure(message: str, error_id: str, target: str | None = None) -> TerminatingFailure:
    """A parameter binding error, as PowerShell raises it before the cmdlet runs."""
    return TerminatingFailure(
        "ParameterBindingException", message, error_id=error_id, category="InvalidArgument",
        target=target,
    )


def transformation_failure(parameter: str, value: object, type_name: str,
                           detail: str) -> TerminatingFailure:
    """A value that cannot be converted to the parameter's type."""
    return TerminatingFailure(
        "ParameterBindingArgumentTransformationException",
        f"Cannot process argument transformation on parameter '{parameter}'. Cannot convert "
        f'value "{value}" to type "{type_name}". Error: "{detail}"',
        error_id="ParameterArgumentTransformationError",
        category="InvalidData",
        target=str(value),
    )


def not_found(identity: object, domain_controller: str) -> CmdletFailure:
    """The lookup error for an identity that matches nothing (reference section 2.3)."""
    return CmdletFailure(
        "ManagementObjectNotFoundException",
        f"The operation couldn't be performed because object '{identity}' couldn't be found on "
        f"'{domain_controller}'.",
        target=str(identity),
    )


def ambiguous(identity: object, matches: list[str]) -> CmdletFailure:
    """The lookup error for an identity that matches several objects.

    Exchange's text ends after "matches multiple entries."; the simulator adds the matching
    identities so that the person reading it can pick the right one.
    """
    return CmdletFailure(
        "ManagementObjectAmbiguousException",
        f"The operation couldn't be performed because '{identity}' matches multiple entries. "
        f"Matches: {', '.join(matches)}.",
        target=str(identity),
    )


def already_exists(distinguished_name: str, domain_controller: str) -> CmdletFailure:
    """Creating an object whose name is taken."""
    return CmdletFailure(
        "ADObjectAlreadyExistsException",
        f"Active Directory operation failed on {domain_controller}. The object "
        f"'{distinguished_name}' already exists.",
        target=distinguished_name,
    )


def require_confirm_false(confirm: bool | None, what_if: bool | None, action: str) -> None:
    """Refuse a Remove- call that would prompt: only ``Confirm=False`` (or WhatIf) avoids it.

    Args:
        confirm: the bound -Confirm value, None when not given.
        what_if: the bound -WhatIf value.
        action: what the prompt would say is about to happen.

    Raises:
        TerminatingFailure: HostException, as a host without a user fails the prompt (2.4).
    """
    if confirm is False or what_if:
        return
    message = f"Are you sure you want to perform this action?\n{action}"
    raise TerminatingFailure(
        "HostException",
        "A command that prompts the user failed because the host program or the command type "
        "does not support user interaction. The host was attempting to request confirmation "
        f"with the following message: {message}",
        error_id="HostFunctionNotImplemented",
        category="NotImplemented",
    )
