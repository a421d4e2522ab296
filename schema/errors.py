"""`UserError`, the shape of every business failure in a mutation payload, and the base of
every mutation's input (`MutationInput`) and payload (`Payload`)."""

from __future__ import annotations

from typing import Self

import strawberry

from services.errors import DomainError, UserErrorCode

# Registers the domain enum as the GraphQL enum `UserErrorCode` (strawberry marks the class).
strawberry.enum(UserErrorCode, name="UserErrorCode")

INPUT_ARGUMENT = "input"
"""The one argument of every mutation (tests/api/test_mutation_conventions.py)."""

CLIENT_MUTATION_ID_DESCRIPTION = (
    "Any string the client chooses; the payload returns it unchanged (to match responses to "
    "requests)."
)


@strawberry.type
class UserError:
    code: UserErrorCode
    field: list[str] | None = strawberry.field(
        description='Path to the input field at fault, e.g. ["input", "media", "2", "altText"]; '
        "null when not field-specific."
    )
    message: str


@strawberry.input
class MutationInput:
    """Base of every mutation's input (not a GraphQL type itself: inputs cannot inherit)."""

    client_mutation_id: str | None = strawberry.field(
        default=None, description=CLIENT_MUTATION_ID_DESCRIPTION
    )


@strawberry.interface(
    description="What every mutation's payload holds: the business failures of the request "
    "(nothing was changed when there are any) and the client's `clientMutationId`."
)
class Payload:
    user_errors: list[UserError] = strawberry.field(default_factory=list)
    client_mutation_id: str | None = strawberry.field(
        default=None, description="The `clientMutationId` of the input, unchanged."
    )

    @classmethod
    def refused(cls, error: DomainError, input: MutationInput) -> Self:
        """The payload of a mutation the domain refused: its user errors, nothing else."""
        return cls(user_errors=user_errors(error), client_mutation_id=input.client_mutation_id)


def user_errors(error: DomainError) -> list[UserError]:
    """The payload form of a DomainError; field paths start with the `input` argument."""
    return [
        UserError(
            code=item.code,
            field=[INPUT_ARGUMENT, *item.field] if item.field else None,
            message=item.message,
        )
        for item in error.errors
    ]
