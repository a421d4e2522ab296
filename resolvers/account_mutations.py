"""Mutations of accounts and the follow graph: parse arguments, call a service, map the outcome
to a payload.

Business failures (DomainError) become `userErrors`; nothing was changed when they occur.
"""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers.context import Context
from schema.accounts import (
    AuthPayload,
    FollowPayload,
    LogInInput,
    LogOutPayload,
    SignUpInput,
    UpdateProfileInput,
    UpdateProfilePayload,
)
from schema.errors import user_errors
from schema.global_ids import decode_id_of_type
from schema.users import User
from services import accounts, follows
from services.errors import DomainError, UserErrorCode


@strawberry.type
class AccountMutations:
    @strawberry.mutation(
        description="Create an account; signs it in. Attempts are limited per client address: "
        "RATE_LIMITED beyond."
    )
    async def sign_up(self, info: Info[Context, None], input: SignUpInput) -> AuthPayload:
        try:
            outcome = await accounts.sign_up(
                info.context.resources.accounts,
                username=input.username,
                email=input.email,
                password=input.password,
                full_name=input.full_name,
                client_ip=info.context.client_ip,
            )
        except DomainError as error:
            return AuthPayload(user_errors=user_errors(error, input_argument="input"))
        return AuthPayload.signed_in(outcome)

    @strawberry.mutation(
        description="Sign in with a username or an email, and a password. Failed attempts are "
        "limited per account name and per client address: RATE_LIMITED beyond."
    )
    async def log_in(self, info: Info[Context, None], input: LogInInput) -> AuthPayload:
        try:
            outcome = await accounts.log_in(
                info.context.resources.accounts,
                username_or_email=input.username_or_email,
                password=input.password,
                client_ip=info.context.client_ip,
            )
        except DomainError as error:
            return AuthPayload(user_errors=user_errors(error, input_argument="input"))
        return AuthPayload.signed_in(outcome)

    @strawberry.mutation(
        description="Trade a refresh token for new tokens. Each refresh token works once: "
        "presenting a used one ends the session."
    )
    async def refresh_session(self, info: Info[Context, None], refresh_token: str) -> AuthPayload:
        try:
            outcome = await accounts.refresh_session(info.context.resources.accounts, refresh_token)
        except DomainError as error:
            return AuthPayload(user_errors=user_errors(error, input_argument="refreshToken"))
        return AuthPayload.signed_in(outcome)

    @strawberry.mutation(description="End the viewer's session (its refresh and access tokens).")
    async def log_out(self, info: Info[Context, None]) -> LogOutPayload:
        viewer = info.context.require_viewer()
        await accounts.log_out(info.context.resources.accounts, viewer)
        return LogOutPayload(ok=True)

    @strawberry.mutation(description="Change the viewer's profile.")
    async def update_profile(
        self, info: Info[Context, None], input: UpdateProfileInput
    ) -> UpdateProfilePayload:
        viewer = info.context.require_viewer()
        changes = accounts.ProfileChanges(full_name=input.full_name, bio=input.bio)
        try:
            record = await accounts.update_profile(info.context.resources.accounts, viewer, changes)
        except DomainError as error:
            return UpdateProfilePayload(user_errors=user_errors(error, input_argument="input"))
        return UpdateProfilePayload(user=User.from_record(record))

    @strawberry.mutation(description="Follow a user. Following again changes nothing.")
    async def follow(self, info: Info[Context, None], user_id: strawberry.ID) -> FollowPayload:
        return await _change_follow(info.context, user_id, follow=True)

    @strawberry.mutation(description="Stop following a user. Unfollowing again changes nothing.")
    async def unfollow(self, info: Info[Context, None], user_id: strawberry.ID) -> FollowPayload:
        return await _change_follow(info.context, user_id, follow=False)


async def _change_follow(context: Context, user_id: str, *, follow: bool) -> FollowPayload:
    viewer = context.require_viewer()
    try:
        target_id = decode_id_of_type(user_id, "User")
        if target_id is None:
            raise DomainError.single(UserErrorCode.NOT_FOUND, "No such user.", "userId")
        change = follows.follow_user if follow else follows.unfollow_user
        viewer_record, target_record = await change(context.resources.social, viewer, target_id)
    except DomainError as error:
        return FollowPayload(user_errors=user_errors(error))
    return FollowPayload(
        user=User.from_record(target_record), viewer=User.from_record(viewer_record)
    )
