"""Mutations of uploads: createUpload and completeUpload."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers.context import Context
from schema.global_ids import decode_id_of_type
from schema.media import (
    CompleteUploadInput,
    CompleteUploadPayload,
    CreateUploadInput,
    CreateUploadPayload,
    HttpHeader,
    Media,
)
from services import media
from services.errors import DomainError, UserErrorCode


@strawberry.type
class MediaMutations:
    @strawberry.mutation(description="Start an upload: returns where to PUT the file.")
    async def create_upload(
        self, info: Info[Context, None], input: CreateUploadInput
    ) -> CreateUploadPayload:
        viewer = info.context.require_viewer()
        try:
            created = await media.create_upload(
                info.context.resources.media,
                viewer,
                filename=input.filename,
                content_type=input.content_type,
                byte_size=input.byte_size,
            )
        except DomainError as error:
            return CreateUploadPayload.refused(error, input)
        return CreateUploadPayload(
            media=Media.from_record(created.media, info),
            upload_url=created.upload.url,
            upload_headers=[
                HttpHeader(name=name, value=value) for name, value in created.upload.headers.items()
            ],
            expires_at=created.upload.expires_at,
            client_mutation_id=input.client_mutation_id,
        )

    @strawberry.mutation(
        description="Check the uploaded file and start processing it (PROCESSING, then READY, "
        "REJECTED or FAILED: follow it with mediaStatusChanged)."
    )
    async def complete_upload(
        self, info: Info[Context, None], input: CompleteUploadInput
    ) -> CompleteUploadPayload:
        viewer = info.context.require_viewer()
        try:
            record_id = decode_id_of_type(input.media_id, "Media")
            if record_id is None:
                raise DomainError.single(UserErrorCode.NOT_FOUND, "No such media.", "mediaId")
            record = await media.complete_upload(info.context.resources.media, viewer, record_id)
        except DomainError as error:
            return CompleteUploadPayload.refused(error, input)
        return CompleteUploadPayload(
            media=Media.from_record(record, info), client_mutation_id=input.client_mutation_id
        )
