"""Domain errors. Business failures become `userErrors` in mutation payloads; a missing or bad
credential becomes a GraphQL error with `extensions.code = "UNAUTHENTICATED"`."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime


class UserErrorCode(enum.Enum):
    """The one small shared set of codes every mutation reports failures with."""

    INVALID_INPUT = "INVALID_INPUT"
    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    USERNAME_TAKEN = "USERNAME_TAKEN"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    RATE_LIMITED = "RATE_LIMITED"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    MEDIA_TOO_LARGE = "MEDIA_TOO_LARGE"
    UPLOAD_INCOMPLETE = "UPLOAD_INCOMPLETE"
    MEDIA_NOT_READY = "MEDIA_NOT_READY"
    BLOCKED = "BLOCKED"
    """The viewer acts on an account they blocked (one that blocked them is NOT_FOUND)."""
    ACCOUNT_SUSPENDED = "ACCOUNT_SUSPENDED"
    """Log-in to a suspended or banned account (the message says until when, and so does the
    payload's `suspension`: AccountSuspendedError; services.suspensions)."""


@dataclass(frozen=True, slots=True)
class UserError:
    """One reason a request was refused; `field` names the input field at fault, if any."""

    code: UserErrorCode
    message: str
    field: tuple[str, ...] | None = None


class DomainError(Exception):
    """A request the domain refuses, with every reason found; nothing was changed."""

    def __init__(self, *errors: UserError) -> None:
        assert errors, "a DomainError carries at least one UserError"
        super().__init__("; ".join(error.message for error in errors))
        self.errors = errors

    @classmethod
    def single(cls, code: UserErrorCode, message: str, field: str | None = None) -> DomainError:
        return cls(UserError(code, message, (field,) if field else None))


class AccountSuspendedError(DomainError):
    """A sign-in refused because the account is suspended until `until`, or banned (`until`
    None): ACCOUNT_SUSPENDED, its message giving the end to the second in UTC."""

    def __init__(self, until: datetime | None) -> None:
        if until is None:
            message = "This account is banned."
        else:
            end = until.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            message = f"This account is suspended until {end}."
        super().__init__(UserError(UserErrorCode.ACCOUNT_SUSPENDED, message))
        self.until = until
