"""Mutations of the profile picture, email verification and account recovery: parse the input,
call a service (services.profile_pictures, services.account_recovery), map the outcome.

Business failures (DomainError) become `userErrors`; nothing was changed when they occur."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers.context import Context
from schema.account_security import (
    ChangeEmailInput,
    ChangeEmailPayload,
    ChangePasswordInput,
    ChangePasswordPayload,
    RemoveProfilePictureInput,
    RemoveProfilePicturePayload,
    RequestPasswordResetInput,
    RequestPasswordResetPayload,
    ResetPasswordInput,
    ResetPasswordPayload,
    SetProfilePictureInput,
    SetProfilePicturePayload,
    VerifyEmailInput,
    VerifyEmailPayload,
)
from schema.global_ids import decode_id_of_type
from schema.users import User
from services import account_recovery, profile_pictures
from services.errors import DomainError, UserErrorCode


@strawberry.type
class AccountSecurityMutations:
    @strawberry.mutation(
        description="Make one of the viewer's READY photos their profile picture (square crops "
        "of 320, 150 and 64 px, public); replaces the previous one."
    )
    async def set_profile_picture(
        self, info: Info[Context, None], input: SetProfilePictureInput
    ) -> SetProfilePicturePayload:
        viewer = info.context.require_viewer()
        try:
            media_id = decode_id_of_type(input.media_id, "Media")
            if media_id is None:
                raise DomainError.single(UserErrorCode.NOT_FOUND, "No such media.", "mediaId")
            await profile_pictures.set_profile_picture(
                info.context.resources.media, viewer, media_id
            )
        except DomainError as error:
            return SetProfilePicturePayload.refused(error, input)
        return SetProfilePicturePayload(
            user=await _viewer_user(info), client_mutation_id=input.client_mutation_id
        )

    @strawberry.mutation(description="Remove the viewer's profile picture (if any).")
    async def remove_profile_picture(
        self, info: Info[Context, None], input: RemoveProfilePictureInput
    ) -> RemoveProfilePicturePayload:
        viewer = info.context.require_viewer()
        await profile_pictures.remove_profile_picture(info.context.resources.media, viewer)
        return RemoveProfilePicturePayload(
            user=await _viewer_user(info), client_mutation_id=input.client_mutation_id
        )

    @strawberry.mutation(
        description="Confirm an email address with the code of a verification mail (sent at "
        "sign-up) or of an email-change mail (the account then switches to the new address). "
        "Each code works once, until it expires. Needs no signed-in viewer."
    )
    async def verify_email(
        self, info: Info[Context, None], input: VerifyEmailInput
    ) -> VerifyEmailPayload:
        try:
            await account_recovery.verify_email(info.context.resources.accounts, input.token)
        except DomainError as error:
            return VerifyEmailPayload.refused(error, input)
        return VerifyEmailPayload(ok=True, client_mutation_id=input.client_mutation_id)

    @strawberry.mutation(
        description="Send a password reset link to this address if an account has it. Answers "
        "the same either way; limited per address and per client address (RATE_LIMITED)."
    )
    async def request_password_reset(
        self, info: Info[Context, None], input: RequestPasswordResetInput
    ) -> RequestPasswordResetPayload:
        try:
            await account_recovery.request_password_reset(
                info.context.resources.accounts, input.email, info.context.client_ip
            )
        except DomainError as error:
            return RequestPasswordResetPayload.refused(error, input)
        return RequestPasswordResetPayload(ok=True, client_mutation_id=input.client_mutation_id)

    @strawberry.mutation(
        description="Set a new password with the code of a password reset mail (works once, "
        "within the hour). Ends every session of the account."
    )
    async def reset_password(
        self, info: Info[Context, None], input: ResetPasswordInput
    ) -> ResetPasswordPayload:
        try:
            await account_recovery.reset_password(
                info.context.resources.accounts, input.token, input.new_password
            )
        except DomainError as error:
            return ResetPasswordPayload.refused(error, input)
        return ResetPasswordPayload(ok=True, client_mutation_id=input.client_mutation_id)

    @strawberry.mutation(
        description="Change the viewer's password (the current one is required). Ends every "
        "other session of the account."
    )
    async def change_password(
        self, info: Info[Context, None], input: ChangePasswordInput
    ) -> ChangePasswordPayload:
        viewer = info.context.require_viewer()
        try:
            await account_recovery.change_password(
                info.context.resources.accounts,
                viewer,
                input.current_password,
                input.new_password,
            )
        except DomainError as error:
            return ChangePasswordPayload.refused(error, input)
        return ChangePasswordPayload(ok=True, client_mutation_id=input.client_mutation_id)

    @strawberry.mutation(
        description="Ask to change the viewer's email address (the password is required): a "
        "link goes to the new address, and the account switches when it is opened "
        "(verifyEmail); the old address is then told."
    )
    async def change_email(
        self, info: Info[Context, None], input: ChangeEmailInput
    ) -> ChangeEmailPayload:
        viewer = info.context.require_viewer()
        try:
            await account_recovery.change_email(
                info.context.resources.accounts, viewer, input.new_email, input.password
            )
        except DomainError as error:
            return ChangeEmailPayload.refused(error, input)
        return ChangeEmailPayload(ok=True, client_mutation_id=input.client_mutation_id)


async def _viewer_user(info: Info[Context, None]) -> User | None:
    record = await info.context.loaders.user_by_id.load(info.context.require_viewer().user_id)
    return User.from_record(record) if record else None
