"""Mutations of leaving and data export: parse the input, call a service (services.leaving,
services.data_export), map the outcome. Business failures (DomainError) become `userErrors`;
nothing was changed when they occur."""

from __future__ import annotations

from datetime import timedelta

import strawberry
from strawberry.types import Info

from resolvers.context import Context
from schema.leaving import (
    DataExport,
    DeactivateAccountInput,
    DeactivateAccountPayload,
    DeleteAccountInput,
    DeleteAccountPayload,
    RequestDataExportInput,
    RequestDataExportPayload,
)
from services import data_export, leaving
from services.errors import DomainError


@strawberry.type
class LeavingMutations:
    @strawberry.mutation(
        description="Hide the viewer's account and everything in it from everyone until they "
        "log in again (logging in reactivates it). Needs the password; ends every session."
    )
    async def deactivate_account(
        self, info: Info[Context, None], input: DeactivateAccountInput
    ) -> DeactivateAccountPayload:
        viewer = info.context.require_viewer()
        try:
            await leaving.deactivate_account(
                info.context.resources.accounts, viewer, input.password
            )
        except DomainError as error:
            return DeactivateAccountPayload.refused(error, input)
        return DeactivateAccountPayload(ok=True, client_mutation_id=input.client_mutation_id)

    @strawberry.mutation(
        description="Delete the viewer's account: it is deactivated at once and erased with "
        "everything in it after a grace period (`eraseAfter`); logging in before then cancels "
        "the deletion (the log-in payload's `deletionCancelled`). Needs the password; ends "
        "every session."
    )
    async def delete_account(
        self, info: Info[Context, None], input: DeleteAccountInput
    ) -> DeleteAccountPayload:
        viewer = info.context.require_viewer()
        resources = info.context.resources
        try:
            erase_after = await leaving.delete_account(
                resources.accounts,
                viewer,
                input.password,
                grace=timedelta(seconds=resources.settings.account_deletion_grace_seconds),
            )
        except DomainError as error:
            return DeleteAccountPayload.refused(error, input)
        return DeleteAccountPayload(
            ok=True, erase_after=erase_after, client_mutation_id=input.client_mutation_id
        )

    @strawberry.mutation(
        description="Export the viewer's data: a zip of their profile, posts, comments, likes, "
        "follows and notifications (JSON) and their original media files, mailed as a signed "
        "link that expires. One at a time: ALREADY_EXISTS while one is under way. Progress: "
        "`viewer.dataExport`."
    )
    async def request_data_export(
        self, info: Info[Context, None], input: RequestDataExportInput
    ) -> RequestDataExportPayload:
        viewer = info.context.require_viewer()
        deps = info.context.resources.exports
        try:
            await data_export.request_data_export(deps, viewer)
        except DomainError as error:
            return RequestDataExportPayload.refused(error, input)
        state = await data_export.export_state(deps, viewer.user_id)
        return RequestDataExportPayload(
            data_export=DataExport.from_state(state) if state else None,
            client_mutation_id=input.client_mutation_id,
        )
