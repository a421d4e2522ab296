"""Mutations of sessions and two-factor authentication: parse the input, call a service
(services.sessions, services.two_factor), map the outcome.

Business failures (DomainError) become `userErrors`; nothing was changed when they occur."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers.context import Context
from schema.session_security import (
    CompleteTwoFactorLogInInput,
    CompleteTwoFactorLogInPayload,
    ConfirmTwoFactorInput,
    ConfirmTwoFactorPayload,
    DisableTwoFactorInput,
    DisableTwoFactorPayload,
    EnableTwoFactorInput,
    EnableTwoFactorPayload,
    EndOtherSessionsInput,
    EndOtherSessionsPayload,
    EndSessionInput,
    EndSessionPayload,
)
from services import sessions, two_factor
from services.errors import DomainError


@strawberry.type
class SessionMutations:
    @strawberry.mutation(
        description="End one of the viewer's sessions (`viewer.sessions`): its tokens stop "
        "working at once and its websockets close. NOT_FOUND for any other id."
    )
    async def end_session(
        self, info: Info[Context, None], input: EndSessionInput
    ) -> EndSessionPayload:
        viewer = info.context.require_viewer()
        try:
            ended = await sessions.end_session(
                info.context.resources.accounts, viewer, str(input.session_id)
            )
        except DomainError as error:
            return EndSessionPayload.refused(error, input)
        return EndSessionPayload(
            ended_session_id=strawberry.ID(str(ended)),
            client_mutation_id=input.client_mutation_id,
        )

    @strawberry.mutation(
        description="End every session of the viewer but the current one: their tokens stop "
        "working at once and their websockets close."
    )
    async def end_other_sessions(
        self, info: Info[Context, None], input: EndOtherSessionsInput
    ) -> EndOtherSessionsPayload:
        viewer = info.context.require_viewer()
        count = await sessions.end_other_sessions(info.context.resources.accounts, viewer)
        return EndOtherSessionsPayload(
            ended_session_count=count, client_mutation_id=input.client_mutation_id
        )

    @strawberry.mutation(
        description="Start two-factor enrolment (the password is required): a TOTP secret for "
        "an authenticator app, pending until confirmTwoFactor. Calling it again replaces a "
        "pending secret; ALREADY_EXISTS when two-factor is on."
    )
    async def enable_two_factor(
        self, info: Info[Context, None], input: EnableTwoFactorInput
    ) -> EnableTwoFactorPayload:
        viewer = info.context.require_viewer()
        try:
            enrolment = await two_factor.enable_two_factor(
                info.context.resources.accounts, viewer, input.password
            )
        except DomainError as error:
            return EnableTwoFactorPayload.refused(error, input)
        return EnableTwoFactorPayload(
            secret=enrolment.secret,
            provisioning_uri=enrolment.provisioning_uri,
            client_mutation_id=input.client_mutation_id,
        )

    @strawberry.mutation(
        description="Turn two-factor on with a first code of the pending secret; answers ten "
        "single-use backup codes, shown this once. Wrong codes are limited like passwords."
    )
    async def confirm_two_factor(
        self, info: Info[Context, None], input: ConfirmTwoFactorInput
    ) -> ConfirmTwoFactorPayload:
        viewer = info.context.require_viewer()
        try:
            codes = await two_factor.confirm_two_factor(
                info.context.resources.accounts, viewer, input.code
            )
        except DomainError as error:
            return ConfirmTwoFactorPayload.refused(error, input)
        return ConfirmTwoFactorPayload(
            backup_codes=codes, client_mutation_id=input.client_mutation_id
        )

    @strawberry.mutation(
        description="Turn two-factor off with a code of the app or a backup code. Wrong codes "
        "are limited like passwords."
    )
    async def disable_two_factor(
        self, info: Info[Context, None], input: DisableTwoFactorInput
    ) -> DisableTwoFactorPayload:
        viewer = info.context.require_viewer()
        try:
            await two_factor.disable_two_factor(info.context.resources.accounts, viewer, input.code)
        except DomainError as error:
            return DisableTwoFactorPayload.refused(error, input)
        return DisableTwoFactorPayload(ok=True, client_mutation_id=input.client_mutation_id)

    @strawberry.mutation(
        description="Finish a log-in that answered `twoFactorChallenge`: the challenge and a "
        "code of the app (each code works once) or an unused backup code sign in. The "
        "challenge works once, for a few minutes; wrong codes are limited like passwords."
    )
    async def complete_two_factor_log_in(
        self, info: Info[Context, None], input: CompleteTwoFactorLogInInput
    ) -> CompleteTwoFactorLogInPayload:
        try:
            outcome = await two_factor.complete_log_in(
                info.context.resources.accounts,
                input.challenge,
                input.code,
                client_ip=info.context.client_ip,
                user_agent=info.context.user_agent,
            )
        except DomainError as error:
            return CompleteTwoFactorLogInPayload.refused(error, input)
        return CompleteTwoFactorLogInPayload.signed_in(outcome, input.client_mutation_id)
