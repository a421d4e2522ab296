"""Mutations of accounts and the follow graph: parse arguments, call a service, map the outcome
to a payload.

Business failures (DomainError) become `userErrors`; nothing was changed when they occur.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry
from strawberry.types import Info

from resolvers.context import Context
from schema.accounts import (
    ApproveFollowRequestInput,
    ApproveFollowRequestPayload,
    BlockUserInput,
    BlockUserPayload,
    CancelFollowRequestInput,
    CancelFollowRequestPayload,
    DeclineFollowRequestInput,
    DeclineFollowRequestPayload,
    FollowUserInput,
    FollowUserPayload,
    LogInInput,
    LogInPayload,
    LogOutInput,
    LogOutPayload,
    MuteUserInput,
    MuteUserPayload,
    RefreshSessionInput,
    RefreshSessionPayload,
    SignUpInput,
    SignUpPayload,
    UnblockUserInput,
    UnblockUserPayload,
    UnfollowUserInput,
    UnfollowUserPayload,
    UnmuteUserInput,
    UnmuteUserPayload,
    UpdateProfileInput,
    UpdateProfilePayload,
    UserPairPayload,
)
from schema.global_ids import decode_id_of_type
from schema.users import User
from services import accounts, follows, privacy, safety
from services.auth import Viewer
from services.errors import DomainError, UserErrorCode
from services.records import UserRecord
from services.social import SocialDeps
from services.totp import TwoFactorRequired


@strawberry.type
class AccountMutations:
    @strawberry.mutation(
        description="Create an account; signs it in. Attempts are limited per client address: "
        "RATE_LIMITED beyond."
    )
    async def sign_up(self, info: Info[Context, None], input: SignUpInput) -> SignUpPayload:
        try:
            outcome = await accounts.sign_up(
                info.context.resources.accounts,
                username=input.username,
                email=input.email,
                password=input.password,
                full_name=input.full_name,
                client_ip=info.context.client_ip,
                user_agent=info.context.user_agent,
            )
        except DomainError as error:
            return SignUpPayload.refused(error, input)
        return SignUpPayload.signed_in(outcome, input.client_mutation_id)

    @strawberry.mutation(
        description="Sign in with a username or an email, and a password. Failed attempts are "
        "limited per account name and per client address: RATE_LIMITED beyond. For an account "
        "with two-factor authentication the tokens are null and `twoFactorChallenge` is set: "
        "finish with completeTwoFactorLogIn."
    )
    async def log_in(self, info: Info[Context, None], input: LogInInput) -> LogInPayload:
        try:
            outcome = await accounts.log_in(
                info.context.resources.accounts,
                username_or_email=input.username_or_email,
                password=input.password,
                client_ip=info.context.client_ip,
                user_agent=info.context.user_agent,
            )
        except DomainError as error:
            return LogInPayload.refused(error, input)
        if isinstance(outcome, TwoFactorRequired):
            return LogInPayload(
                two_factor_challenge=outcome.challenge,
                two_factor_challenge_expires_at=outcome.expires_at,
                client_mutation_id=input.client_mutation_id,
            )
        return LogInPayload.logged_in(outcome, input.client_mutation_id)

    @strawberry.mutation(
        description="Trade a refresh token for new tokens. Each refresh token works once: "
        "presenting a used one ends the session."
    )
    async def refresh_session(
        self, info: Info[Context, None], input: RefreshSessionInput
    ) -> RefreshSessionPayload:
        try:
            outcome = await accounts.refresh_session(
                info.context.resources.accounts,
                input.refresh_token,
                client_ip=info.context.client_ip,
            )
        except DomainError as error:
            return RefreshSessionPayload.refused(error, input)
        return RefreshSessionPayload.signed_in(outcome, input.client_mutation_id)

    @strawberry.mutation(description="End the viewer's session (its refresh and access tokens).")
    async def log_out(self, info: Info[Context, None], input: LogOutInput) -> LogOutPayload:
        viewer = info.context.require_viewer()
        await accounts.log_out(info.context.resources.accounts, viewer)
        return LogOutPayload(ok=True, client_mutation_id=input.client_mutation_id)

    @strawberry.mutation(description="Change the viewer's profile.")
    async def update_profile(
        self, info: Info[Context, None], input: UpdateProfileInput
    ) -> UpdateProfilePayload:
        viewer = info.context.require_viewer()
        changes = accounts.ProfileChanges(
            full_name=input.full_name, bio=input.bio, is_private=input.is_private
        )
        resources = info.context.resources
        try:
            record = await privacy.update_profile(
                resources.accounts, resources.social, viewer, changes
            )
        except DomainError as error:
            return UpdateProfilePayload.refused(error, input)
        return UpdateProfilePayload(
            user=User.from_record(record), client_mutation_id=input.client_mutation_id
        )

    @strawberry.mutation(
        description="Follow a user, or ask to when the user is private (status REQUESTED). "
        "Following again changes nothing. BLOCKED for an account the viewer blocked."
    )
    async def follow_user(
        self, info: Info[Context, None], input: FollowUserInput
    ) -> FollowUserPayload:
        viewer = info.context.require_viewer()
        try:
            outcome = await follows.follow_user(
                info.context.resources.social, viewer, _user_id(input.user_id)
            )
        except DomainError as error:
            return FollowUserPayload.refused(error, input)
        return FollowUserPayload(
            user=User.from_record(outcome.target),
            viewer=User.from_record(outcome.viewer),
            status=outcome.status,
            client_mutation_id=input.client_mutation_id,
        )

    @strawberry.mutation(description="Stop following a user. Unfollowing again changes nothing.")
    async def unfollow_user(
        self, info: Info[Context, None], input: UnfollowUserInput
    ) -> UnfollowUserPayload:
        return await _change_pair(info, input, follows.unfollow_user, UnfollowUserPayload)

    @strawberry.mutation(
        description="Accept a pending request to follow the viewer: the requester becomes a "
        "follower (and is notified: FOLLOW_ACCEPTED)."
    )
    async def approve_follow_request(
        self, info: Info[Context, None], input: ApproveFollowRequestInput
    ) -> ApproveFollowRequestPayload:
        return await _change_pair(
            info, input, follows.approve_follow_request, ApproveFollowRequestPayload
        )

    @strawberry.mutation(
        description="Turn down a pending request to follow the viewer (the requester is not told)."
    )
    async def decline_follow_request(
        self, info: Info[Context, None], input: DeclineFollowRequestInput
    ) -> DeclineFollowRequestPayload:
        return await _change_pair(
            info, input, follows.decline_follow_request, DeclineFollowRequestPayload
        )

    @strawberry.mutation(description="Withdraw the viewer's pending request to follow a user.")
    async def cancel_follow_request(
        self, info: Info[Context, None], input: CancelFollowRequestInput
    ) -> CancelFollowRequestPayload:
        return await _change_pair(
            info, input, follows.cancel_follow_request, CancelFollowRequestPayload
        )

    @strawberry.mutation(
        description="Block a user: the follows and follow requests between you end, and you "
        "become invisible to each other everywhere. Blocking again changes nothing."
    )
    async def block_user(
        self, info: Info[Context, None], input: BlockUserInput
    ) -> BlockUserPayload:
        return await _change_pair(info, input, safety.block_user, BlockUserPayload)

    @strawberry.mutation(
        description="Lift the viewer's block of a user (the follows it ended stay ended). "
        "Changes nothing when there is none."
    )
    async def unblock_user(
        self, info: Info[Context, None], input: UnblockUserInput
    ) -> UnblockUserPayload:
        return await _change_pair(info, input, safety.unblock_user, UnblockUserPayload)

    @strawberry.mutation(
        description="Mute a user: their posts leave the viewer's feed and their notifications "
        "are hidden; the follow stays and they are told nothing."
    )
    async def mute_user(self, info: Info[Context, None], input: MuteUserInput) -> MuteUserPayload:
        return await _change_pair(info, input, safety.mute_user, MuteUserPayload)

    @strawberry.mutation(description="Unmute a user. Changes nothing when not muted.")
    async def unmute_user(
        self, info: Info[Context, None], input: UnmuteUserInput
    ) -> UnmuteUserPayload:
        return await _change_pair(info, input, safety.unmute_user, UnmuteUserPayload)


def _user_id(global_id: str) -> int:
    """The record id of a User global ID. Raises DomainError NOT_FOUND for any other ID."""
    target_id = decode_id_of_type(global_id, "User")
    if target_id is None:
        raise DomainError.single(UserErrorCode.NOT_FOUND, "No such user.", "userId")
    return target_id


PairChange = Callable[[SocialDeps, Viewer, int], Awaitable[tuple[UserRecord, UserRecord]]]
PairInput = (
    UnfollowUserInput
    | ApproveFollowRequestInput
    | DeclineFollowRequestInput
    | CancelFollowRequestInput
    | BlockUserInput
    | UnblockUserInput
    | MuteUserInput
    | UnmuteUserInput
)
PairPayloadT = TypeVar("PairPayloadT", bound=UserPairPayload)


async def _change_pair(
    info: Info[Context, None],
    input: PairInput,
    change: PairChange,
    payload: type[PairPayloadT],
) -> PairPayloadT:
    """Apply `change` between the viewer and `input.user_id`; the payload shows both users
    after (`user`: the other one)."""
    viewer = info.context.require_viewer()
    try:
        viewer_record, target_record = await change(
            info.context.resources.social, viewer, _user_id(input.user_id)
        )
    except DomainError as error:
        return payload.refused(error, input)
    return payload(
        user=User.from_record(target_record),
        viewer=User.from_record(viewer_record),
        client_mutation_id=input.client_mutation_id,
    )
