"""Mutations of the known-bad image blocklist: admins only (services.known_images)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers.context import Context
from schema.global_ids import decode_id_of_type, encode_global_id
from schema.known_images import (
    AddKnownImageFromMediaInput,
    AddKnownImageFromMediaPayload,
    AddKnownImageHashesInput,
    AddKnownImageHashesPayload,
    KnownImage,
    RemoveKnownImagesInput,
    RemoveKnownImagesPayload,
)
from services import known_images
from services.errors import DomainError
from services.known_images import AddedKnownImages

KNOWN_IMAGE_TYPE = "KnownImage"


@strawberry.type
class KnownImageMutations:
    @strawberry.mutation(
        description="Admins: add PDQ hashes to the known-bad image blocklist. A photo or video "
        "keyframe within the documented distance of one is rejected and opens a case."
    )
    async def add_known_image_hashes(
        self, info: Info[Context, None], input: AddKnownImageHashesInput
    ) -> AddKnownImageHashesPayload:
        viewer = info.context.require_viewer()
        db = info.context.resources.db
        try:
            added = await known_images.add_hashes(db, viewer, input.hashes, input.source)
        except DomainError as error:
            return AddKnownImageHashesPayload.refused(error, input)
        return AddKnownImageHashesPayload(
            added_ids=[encode_global_id(KNOWN_IMAGE_TYPE, item) for item in added.added_ids],
            already_listed=added.already_listed,
            client_mutation_id=input.client_mutation_id,
        )

    @strawberry.mutation(
        description="Admins: add the PDQ hashes of a processed media item (its photo, or its "
        "video's poster and keyframes) to the known-bad image blocklist."
    )
    async def add_known_image_from_media(
        self, info: Info[Context, None], input: AddKnownImageFromMediaInput
    ) -> AddKnownImageFromMediaPayload:
        viewer = info.context.require_viewer()
        db = info.context.resources.db
        try:
            added = await known_images.add_media_hashes(
                db,
                viewer,
                decode_id_of_type(input.media_id, "Media"),
                input.source,
                min_quality=info.context.resources.settings.known_image_min_quality,
            )
        except DomainError as error:
            return AddKnownImageFromMediaPayload.refused(error, input)
        listed = await _listed(info, added)
        return AddKnownImageFromMediaPayload(
            known_images=listed,
            already_listed=added.already_listed,
            client_mutation_id=input.client_mutation_id,
        )

    @strawberry.mutation(description="Admins: remove entries of the known-bad image blocklist.")
    async def remove_known_images(
        self, info: Info[Context, None], input: RemoveKnownImagesInput
    ) -> RemoveKnownImagesPayload:
        viewer = info.context.require_viewer()
        db = info.context.resources.db
        try:
            ids = [decode_id_of_type(item, KNOWN_IMAGE_TYPE) for item in input.known_image_ids]
            removed = await known_images.remove_entries(db, viewer, ids)
        except DomainError as error:
            return RemoveKnownImagesPayload.refused(error, input)
        return RemoveKnownImagesPayload(
            removed_ids=[encode_global_id(KNOWN_IMAGE_TYPE, item) for item in removed],
            client_mutation_id=input.client_mutation_id,
        )


async def _listed(info: Info[Context, None], added: AddedKnownImages) -> list[KnownImage]:
    """The entries an addition made, as the admin sees them."""
    entries = await known_images.fetch_entries(info.context.resources.db, added.added_ids)
    return [
        KnownImage(
            id=encode_global_id(KNOWN_IMAGE_TYPE, entry.id),
            hash=entry.hash.hex(),
            source=entry.source,
        )
        for entry in entries
    ]
