"""Profile pictures: a user's chosen photo (an uploaded, processed image of theirs) published as
square crops of 320, 150 and 64 px (media.profile_pictures), under keys no one can guess:
`media/avatars/<user id>/<random>/<size>.jpg`. Anyone may see a user's picture: choosing it
publishes it, whether or not the photo is in a published post (its other files stay as private
as they were). Replacing or removing the picture deletes the old crops."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Sequence
from pathlib import Path
from tempfile import TemporaryDirectory

from media.images import RejectedMediaError
from media.profile_pictures import profile_picture_crops
from services.auth import Viewer
from services.errors import DomainError, UserErrorCode
from services.media import MediaDeps, fetch_own_media
from services.media_processing import PUBLISHED_CACHE_CONTROL
from storage.blobs import BlobNotFoundError, BlobStoreUnavailableError
from storage.pg import Db
from storage.pg import profile_pictures as picture_store
from storage.pg.media import StoredVariant

log = logging.getLogger(__name__)


def picture_key(user_id: int, token: str, size_name: str) -> str:
    return f"media/avatars/{user_id}/{token}/{size_name}.jpg"


def choose_crop(crops: Sequence[StoredVariant], min_width: int | None) -> StoredVariant | None:
    """The smallest crop at least `min_width` wide; the largest when none is (or no minimum)."""
    if not crops:
        return None
    by_width = sorted(crops, key=lambda crop: crop.width)
    if min_width is None:
        return by_width[-1]
    return next((crop for crop in by_width if crop.width >= min_width), by_width[-1])


async def fetch_pictures(db: Db, user_ids: Sequence[int]) -> dict[int, tuple[StoredVariant, ...]]:
    """{user id: their picture's crops} for those among `user_ids` who have one. No side effects."""
    return await picture_store.fetch_pictures(db, user_ids)


async def set_profile_picture(
    deps: MediaDeps, viewer: Viewer, media_id: int
) -> tuple[StoredVariant, ...]:
    """Make the viewer's READY photo `media_id` their profile picture; returns its crops.

    Raises DomainError: NOT_FOUND / FORBIDDEN (not the viewer's media: services.media),
    INVALID_INPUT (a video), MEDIA_NOT_READY (not processed, rejected or failed). Side effects:
    reads the photo's largest published variant, writes three crops to the blob store, replaces
    the picture row, then deletes the previous picture's crops (best effort: a left-over object
    under an unguessable key is harmless)."""
    media = await fetch_own_media(deps.db, viewer, media_id)
    if media.kind != "IMAGE":
        raise DomainError.single(
            UserErrorCode.INVALID_INPUT, "A profile picture must be a photo.", "mediaId"
        )
    if media.status != "READY" or not media.variants:
        raise DomainError.single(
            UserErrorCode.MEDIA_NOT_READY, "This photo is not processed yet.", "mediaId"
        )
    source = max(media.variants, key=lambda variant: variant.width * variant.height)
    try:
        data = await _read(deps, source.key)
        crops = await asyncio.to_thread(profile_picture_crops, data)
    except (BlobNotFoundError, RejectedMediaError):
        raise DomainError.single(
            UserErrorCode.MEDIA_NOT_READY, "This photo's files are gone.", "mediaId"
        ) from None
    token = secrets.token_urlsafe(12)
    stored = [
        StoredVariant(
            name=crop.name,
            key=picture_key(viewer.user_id, token, crop.name),
            width=crop.width,
            height=crop.height,
            content_type=crop.content_type,
        )
        for crop in crops
    ]
    await asyncio.gather(
        *(
            deps.blobs.put(
                item.key,
                crop.data,
                content_type=crop.content_type,
                cache_control=PUBLISHED_CACHE_CONTROL,
            )
            for item, crop in zip(stored, crops, strict=True)
        )
    )
    replaced = await picture_store.replace_picture(deps.db, viewer.user_id, media.id, stored)
    await _delete_files(deps, replaced)
    return tuple(stored)


async def remove_profile_picture(deps: MediaDeps, viewer: Viewer) -> None:
    """Remove the viewer's picture (nothing happens when they have none). Side effects: the row,
    then the crops' objects (best effort)."""
    removed = await picture_store.delete_picture(deps.db, viewer.user_id)
    await _delete_files(deps, removed)


async def _read(deps: MediaDeps, key: str) -> bytes:
    with TemporaryDirectory(prefix="shutter-avatar-") as folder:
        path = Path(folder) / "source.jpg"
        await deps.blobs.download(key, path)
        return await asyncio.to_thread(path.read_bytes)


async def _delete_files(deps: MediaDeps, crops: Sequence[StoredVariant]) -> None:
    if not crops:
        return
    try:
        await deps.blobs.delete([crop.key for crop in crops])
    except BlobStoreUnavailableError:
        log.warning("could not delete %d replaced profile picture files", len(crops))
