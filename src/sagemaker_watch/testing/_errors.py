"""How the simulated service says no: :class:`ApiError` and AWS's message forms."""

from __future__ import annotations

#: The message of ``ValidationException`` for a job that does not exist.
NOT_FOUND = "Requested resource not found."


class ApiError(Exception):
    """An error answer of the simulated service, as AWS sends it.

    Attributes:
        code: The ``__type``, such as ``"ValidationException"``.
        message: The ``message``.
        status: The HTTP status.
    """

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        """Build the error from its *code*, *message* and HTTP *status*."""
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status

    def __repr__(self) -> str:
        """Return ``ApiError('Code', 'message', status)``."""
        return f"ApiError({self.code!r}, {self.message!r}, {self.status})"


def validation_error(message: str) -> ApiError:
    """A ``ValidationException`` with *message*."""
    return ApiError("ValidationException", message)


def constraint(value: object, member: str, rule: str) -> str:
    """One failed constraint, as AWS words it: ``Value 'x' at 'member' failed ...``."""
    return f"Value '{value}' at '{member}' failed to satisfy constraint: {rule}"


def validation_message(errors: list[str]) -> str:
    """AWS's form: ``N validation error(s) detected: ...; ...``."""
    noun = "error" if len(errors) == 1 else "errors"
    return f"{len(errors)} validation {noun} detected: {'; '.join(errors)}"
