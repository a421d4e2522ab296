"""The texts of moderation: a report's note, a moderator's reason, an appeal's statement
(services.text's one rule, with their lengths)."""

from __future__ import annotations

from services.errors import DomainError, UserError, UserErrorCode
from services.text import clean_text

NOTE_MAX = 1000
REASON_MAX = 2000
STATEMENT_MAX = 2000


def optional_text(value: str | None, *, field: str, max_length: int) -> str | None:
    """The cleaned text, None when absent or blank; raises DomainError INVALID_INPUT at
    `field` for text services.text refuses."""
    if value is None:
        return None
    cleaned = clean_text(value, field=(field,), max_length=max_length, multiline=True)
    if isinstance(cleaned, UserError):
        raise DomainError(cleaned)
    return cleaned


def required_text(value: str, *, field: str, max_length: int) -> str:
    """As optional_text, and INVALID_INPUT when nothing is left."""
    cleaned = optional_text(value, field=field, max_length=max_length)
    if cleaned is None:
        raise DomainError.single(UserErrorCode.INVALID_INPUT, "This cannot be empty.", field)
    return cleaned
