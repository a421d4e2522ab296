"""Inputs and payloads of the profile picture, email verification and recovery mutations."""

from __future__ import annotations

import strawberry

from schema.errors import MutationInput, Payload
from schema.users import User


@strawberry.input
class SetProfilePictureInput(MutationInput):
    media_id: strawberry.ID = strawberry.field(
        description="A READY photo of the viewer's (createUpload, completeUpload)."
    )


@strawberry.input
class RemoveProfilePictureInput(MutationInput):
    pass


@strawberry.input
class VerifyEmailInput(MutationInput):
    token: str = strawberry.field(description="The code of a verification or email-change mail.")


@strawberry.input
class RequestPasswordResetInput(MutationInput):
    email: str


@strawberry.input
class ResetPasswordInput(MutationInput):
    token: str = strawberry.field(description="The code of a password reset mail.")
    new_password: str


@strawberry.input
class ChangePasswordInput(MutationInput):
    current_password: str
    new_password: str


@strawberry.input
class ChangeEmailInput(MutationInput):
    new_email: str
    password: str = strawberry.field(description="The account's current password.")


@strawberry.type
class SetProfilePicturePayload(Payload):
    user: User | None = None


@strawberry.type
class RemoveProfilePicturePayload(Payload):
    user: User | None = None


@strawberry.type
class VerifyEmailPayload(Payload):
    ok: bool = False


@strawberry.type
class RequestPasswordResetPayload(Payload):
    ok: bool = strawberry.field(
        default=False,
        description="True whether or not an account has this address (a mail goes out only "
        "if one has).",
    )


@strawberry.type
class ResetPasswordPayload(Payload):
    ok: bool = False


@strawberry.type
class ChangePasswordPayload(Payload):
    ok: bool = False


@strawberry.type
class ChangeEmailPayload(Payload):
    ok: bool = strawberry.field(
        default=False,
        description="A confirmation link went to the new address; the account keeps its address "
        "until the link is opened (verifyEmail).",
    )
