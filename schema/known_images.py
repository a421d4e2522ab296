"""GraphQL types of the known-bad image blocklist (admins only; docs/moderation.md)."""

from __future__ import annotations

import strawberry

from schema.errors import MutationInput, Payload

SOURCE_DESCRIPTION = (
    "Where the hashes come from (1 to 100 characters): an exchange's list name, a case, ... "
    "Shown to moderators in the cases a match opens."
)


@strawberry.type(description="An entry of the known-bad image blocklist: a PDQ hash.")
class KnownImage:
    id: strawberry.ID
    hash: str = strawberry.field(description="The PDQ hash, 64 hexadecimal digits.")
    source: str


@strawberry.input
class AddKnownImageHashesInput(MutationInput):
    hashes: list[str] = strawberry.field(
        description="1 to 10,000 PDQ hashes, 64 hexadecimal digits each."
    )
    source: str = strawberry.field(description=SOURCE_DESCRIPTION)


@strawberry.input
class AddKnownImageFromMediaInput(MutationInput):
    media_id: strawberry.ID = strawberry.field(
        description="A processed media item (e.g. an upload of the admin's, through "
        "createUpload and completeUpload): its photo's or video keyframes' PDQ hashes are added."
    )
    source: str = strawberry.field(description=SOURCE_DESCRIPTION)


ALREADY_LISTED_DESCRIPTION = "How many of the hashes were listed already."


@strawberry.type
class AddKnownImageHashesPayload(Payload):
    added_ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description="The ids of the entries added, in the order given (hashes already listed "
        "are not repeated).",
    )
    already_listed: int | None = strawberry.field(
        default=None, description=ALREADY_LISTED_DESCRIPTION
    )


@strawberry.type
class AddKnownImageFromMediaPayload(Payload):
    known_images: list[KnownImage] | None = strawberry.field(
        default=None,
        description="The entries added (hashes already listed are not repeated): at most one "
        "per picture of the media item (a photo, or a video's poster and keyframes).",
    )
    already_listed: int | None = strawberry.field(
        default=None, description=ALREADY_LISTED_DESCRIPTION
    )


@strawberry.input
class RemoveKnownImagesInput(MutationInput):
    known_image_ids: list[strawberry.ID] = strawberry.field(
        description="1 to 10,000 entries; ids that are not listed are ignored."
    )


@strawberry.type
class RemoveKnownImagesPayload(Payload):
    removed_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="The entries that were listed and are removed."
    )
