"""Inputs and payloads of the account and follow mutations."""

from __future__ import annotations

from datetime import datetime
from typing import Self

import strawberry

from schema.errors import MutationInput, Payload
from schema.users import User
from services.accounts import SignedIn
from services.errors import AccountSuspendedError, DomainError
from services.follows import FollowStatus

# Registers the domain enum as the GraphQL enum `FollowStatus`.
strawberry.enum(FollowStatus, name="FollowStatus")


@strawberry.input
class SignUpInput(MutationInput):
    username: str
    email: str
    password: str
    full_name: str | None = None


@strawberry.input
class LogInInput(MutationInput):
    username_or_email: str
    password: str


@strawberry.input
class RefreshSessionInput(MutationInput):
    refresh_token: str


@strawberry.input
class LogOutInput(MutationInput):
    pass


@strawberry.input
class UpdateProfileInput(MutationInput):
    full_name: str | None = strawberry.field(
        default=None, description="Omit or null to keep; an empty string clears it."
    )
    bio: str | None = strawberry.field(
        default=None, description="Omit or null to keep; an empty string clears it."
    )
    is_private: bool | None = strawberry.field(
        default=None,
        description="Omit or null to keep. A private account's posts, followers and following "
        "are seen by its approved followers only; following it sends a request. Turning "
        "public approves every pending request (the oldest at once, the rest in the background "
        "shortly after).",
    )


@strawberry.input
class FollowUserInput(MutationInput):
    user_id: strawberry.ID


@strawberry.input
class UnfollowUserInput(MutationInput):
    user_id: strawberry.ID


@strawberry.type
class SessionPayload(Payload):
    """The fields of the payloads that sign in (not a GraphQL type itself)."""

    access_token: str | None = None
    refresh_token: str | None = None
    access_token_expires_at: datetime | None = None
    viewer: User | None = None

    @classmethod
    def signed_in(cls, outcome: SignedIn, client_mutation_id: str | None) -> Self:
        return cls(
            access_token=outcome.access_token,
            refresh_token=outcome.refresh_token,
            access_token_expires_at=outcome.access_token_expires_at,
            viewer=User.from_record(outcome.user),
            client_mutation_id=client_mutation_id,
        )


@strawberry.type
class SignUpPayload(SessionPayload):
    pass


@strawberry.type(description="Why an account may not sign in now.")
class AccountSuspension:
    until: datetime | None = strawberry.field(
        description="When the suspension ends by itself; null for a ban (appealed out of band)."
    )


@strawberry.type
class SignInPayload(SessionPayload):
    """The fields of the payloads that sign in an account's owner (not a GraphQL type
    itself)."""

    suspension: AccountSuspension | None = strawberry.field(
        default=None,
        description="Set, with ACCOUNT_SUSPENDED in userErrors, when the account is suspended "
        "or banned: no session was opened.",
    )

    @classmethod
    def refused(cls, error: DomainError, input: MutationInput) -> Self:
        """The payload of a refused sign-in: its user errors, and the suspension that refused
        it (AccountSuspendedError)."""
        payload = super().refused(error, input)
        if isinstance(error, AccountSuspendedError):
            payload.suspension = AccountSuspension(until=error.until)
        return payload


@strawberry.type
class LogInPayload(SignInPayload):
    two_factor_challenge: str | None = strawberry.field(
        default=None,
        description="Set (and the tokens null) when the account has two-factor authentication: "
        "pass it with a code to completeTwoFactorLogIn before it expires; it works once.",
    )
    two_factor_challenge_expires_at: datetime | None = None
    reactivated: bool = strawberry.field(
        default=False, description="This log-in ended the account's deactivation."
    )
    deletion_cancelled: bool = strawberry.field(
        default=False,
        description="This log-in cancelled the account's pending deletion (deleteAccount).",
    )

    @classmethod
    def logged_in(cls, outcome: SignedIn, client_mutation_id: str | None) -> LogInPayload:
        payload = cls.signed_in(outcome, client_mutation_id)
        payload.reactivated = outcome.reactivated
        payload.deletion_cancelled = outcome.deletion_cancelled
        return payload


@strawberry.type
class RefreshSessionPayload(SessionPayload):
    pass


@strawberry.type
class LogOutPayload(Payload):
    ok: bool = False


@strawberry.type
class UpdateProfilePayload(Payload):
    user: User | None = None


@strawberry.type
class FollowUserPayload(Payload):
    user: User | None = strawberry.field(default=None, description="The followed user.")
    viewer: User | None = None
    status: FollowStatus | None = strawberry.field(
        default=None,
        description="FOLLOWING, or REQUESTED when the user is private (a follow request waits "
        "for their approval); null on failure.",
    )


@strawberry.type
class UserPairPayload(Payload):
    """The fields of the payloads of a change between the viewer and another user (not a
    GraphQL type itself)."""

    user: User | None = None
    viewer: User | None = None


@strawberry.type
class UnfollowUserPayload(UserPairPayload):
    user: User | None = strawberry.field(default=None, description="The unfollowed user.")


@strawberry.input
class ApproveFollowRequestInput(MutationInput):
    user_id: strawberry.ID


@strawberry.type
class ApproveFollowRequestPayload(UserPairPayload):
    user: User | None = strawberry.field(default=None, description="The requester, now a follower.")


@strawberry.input
class DeclineFollowRequestInput(MutationInput):
    user_id: strawberry.ID


@strawberry.type
class DeclineFollowRequestPayload(UserPairPayload):
    user: User | None = strawberry.field(default=None, description="The requester.")


@strawberry.input
class CancelFollowRequestInput(MutationInput):
    user_id: strawberry.ID


@strawberry.type
class CancelFollowRequestPayload(UserPairPayload):
    user: User | None = strawberry.field(default=None, description="The user the request was to.")


@strawberry.input
class BlockUserInput(MutationInput):
    user_id: strawberry.ID


@strawberry.type
class BlockUserPayload(UserPairPayload):
    user: User | None = strawberry.field(default=None, description="The blocked user.")


@strawberry.input
class UnblockUserInput(MutationInput):
    user_id: strawberry.ID


@strawberry.type
class UnblockUserPayload(UserPairPayload):
    user: User | None = strawberry.field(default=None, description="The unblocked user.")


@strawberry.input
class MuteUserInput(MutationInput):
    user_id: strawberry.ID


@strawberry.type
class MuteUserPayload(UserPairPayload):
    user: User | None = strawberry.field(default=None, description="The muted user.")


@strawberry.input
class UnmuteUserInput(MutationInput):
    user_id: strawberry.ID


@strawberry.type
class UnmuteUserPayload(UserPairPayload):
    user: User | None = strawberry.field(default=None, description="The unmuted user.")
