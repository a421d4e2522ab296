"""Inputs and payloads of the session and two-factor mutations."""

from __future__ import annotations

import strawberry

from schema.accounts import SignInPayload
from schema.errors import MutationInput, Payload


@strawberry.input
class EndSessionInput(MutationInput):
    session_id: strawberry.ID = strawberry.field(description="A `Session.id` of the viewer's.")


@strawberry.input
class EndOtherSessionsInput(MutationInput):
    pass


@strawberry.type
class EndSessionPayload(Payload):
    ended_session_id: strawberry.ID | None = None


@strawberry.type
class EndOtherSessionsPayload(Payload):
    ended_session_count: int | None = strawberry.field(
        default=None, description="How many sessions ended (every one but the current)."
    )


@strawberry.input
class EnableTwoFactorInput(MutationInput):
    password: str = strawberry.field(description="The account's current password.")


@strawberry.input
class ConfirmTwoFactorInput(MutationInput):
    code: str = strawberry.field(description="A 6-digit code of the authenticator app.")


@strawberry.input
class DisableTwoFactorInput(MutationInput):
    code: str = strawberry.field(description="A 6-digit code of the app, or a backup code.")


@strawberry.input
class CompleteTwoFactorLogInInput(MutationInput):
    challenge: str = strawberry.field(description="`LogInPayload.twoFactorChallenge`.")
    code: str = strawberry.field(description="A 6-digit code of the app, or a backup code.")


@strawberry.type
class EnableTwoFactorPayload(Payload):
    secret: str | None = strawberry.field(
        default=None, description="The TOTP secret (base32), to type into an authenticator app."
    )
    provisioning_uri: str | None = strawberry.field(
        default=None,
        description="The same as an `otpauth://totp/Shutter:<username>?...` URI (for a QR code).",
    )


@strawberry.type
class ConfirmTwoFactorPayload(Payload):
    backup_codes: list[str] | None = strawberry.field(
        default=None,
        description="Ten single-use codes that stand in for the app; shown this once only.",
    )


@strawberry.type
class DisableTwoFactorPayload(Payload):
    ok: bool = False


@strawberry.type
class CompleteTwoFactorLogInPayload(SignInPayload):
    pass
