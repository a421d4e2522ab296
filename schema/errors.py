"""`UserError`, the shape of every business failure in a mutation payload."""

from __future__ import annotations

import strawberry

from services.errors import DomainError, UserErrorCode

# Registers the domain enum as the GraphQL enum `UserErrorCode` (strawberry marks the class).
strawberry.enum(UserErrorCode, name="UserErrorCode")


@strawberry.type
class UserError:
    code: UserErrorCode
    field: list[str] | None = strawberry.field(
        description='Path to the input field at fault, e.g. ["input", "caption"]; '
        "null when not field-specific."
    )
    message: str


def user_errors(error: DomainError, *, input_argument: str | None = None) -> list[UserError]:
    """The payload form of a DomainError; field paths start with the argument that holds them."""
    prefix = [input_argument] if input_argument else []
    return [
        UserError(
            code=item.code,
            field=[*prefix, *item.field] if item.field else None,
            message=item.message,
        )
        for item in error.errors
    ]
