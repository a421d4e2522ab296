"""Inputs and payloads of the account and follow mutations."""

from __future__ import annotations

from datetime import datetime

import strawberry

from schema.errors import UserError
from schema.users import User
from services.accounts import SignedIn


@strawberry.input
class SignUpInput:
    username: str
    email: str
    password: str
    full_name: str | None = None


@strawberry.input
class LogInInput:
    username_or_email: str
    password: str


@strawberry.input
class UpdateProfileInput:
    full_name: str | None = strawberry.field(
        default=None, description="Omit or null to keep; an empty string clears it."
    )
    bio: str | None = strawberry.field(
        default=None, description="Omit or null to keep; an empty string clears it."
    )


@strawberry.type
class AuthPayload:
    access_token: str | None = None
    refresh_token: str | None = None
    access_token_expires_at: datetime | None = None
    viewer: User | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def signed_in(cls, outcome: SignedIn) -> AuthPayload:
        return cls(
            access_token=outcome.access_token,
            refresh_token=outcome.refresh_token,
            access_token_expires_at=outcome.access_token_expires_at,
            viewer=User.from_record(outcome.user),
        )


@strawberry.type
class LogOutPayload:
    ok: bool
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class UpdateProfilePayload:
    user: User | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class FollowPayload:
    user: User | None = strawberry.field(default=None, description="The followed user.")
    viewer: User | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
