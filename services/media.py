"""Uploads: createUpload (a presigned PUT) and completeUpload (seal and check the bytes, enqueue
work).

Sealing: a presigned PUT URL stays valid until it expires (S3 cannot revoke one), so
completeUpload first moves the uploaded object to a key of its own that no URL targets
(`sealed_original_key`), then checks that object; processing reads only it. Whatever is PUT to
the upload URL afterwards is never read (the local backend's upload route refuses it outright:
`accepts_upload`).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from arq.connections import ArqRedis

from media.sniff import sniff_content_type
from services.auth import Viewer
from services.errors import DomainError, UserError, UserErrorCode
from services.media_types import media_kind
from storage import jobs
from storage.blobs import BlobNotFoundError, BlobStore, PresignedPut
from storage.pg import Db
from storage.pg import media as media_store
from storage.pg.media import MediaRecord

SNIFF_BYTES = 64
MAX_FILENAME_LENGTH = 255


@dataclass(frozen=True, slots=True)
class UploadLimits:
    max_image_bytes: int
    max_video_bytes: int
    url_ttl: timedelta


@dataclass(frozen=True, slots=True)
class MediaDeps:
    db: Db
    queue: ArqRedis
    blobs: BlobStore
    limits: UploadLimits


@dataclass(frozen=True, slots=True)
class CreatedUpload:
    media: MediaRecord
    upload: PresignedPut


_UPLOAD_KEY = re.compile(r"uploads/([1-9][0-9]{0,17})/original")
"""A media item's upload key (ids of at most 18 digits: within bigint)."""


def upload_key(media_id: int) -> str:
    """Where the original of a media item is uploaded (private: never served)."""
    return f"uploads/{media_id}/original"


def sealed_original_key(media_id: int) -> str:
    """A fresh private key for the original that completeUpload seals: no upload URL targets
    it, and each attempt gets its own (random part), so two racing completeUpload calls never
    write the same object."""
    return f"uploads/{media_id}/sealed-{secrets.token_hex(16)}"


async def accepts_upload(db: Db, key: str) -> bool:
    """Whether a PUT to `key` through a signed upload URL may still be stored: `key` is a
    media item's upload key and the item is AWAITING_UPLOAD (once completeUpload took the file,
    the URL is closed). No side effects."""
    match = _UPLOAD_KEY.fullmatch(key)
    if match is None:
        return False
    return await media_store.fetch_media_status(db, int(match[1])) == "AWAITING_UPLOAD"


async def create_upload(
    deps: MediaDeps, viewer: Viewer, *, filename: str, content_type: str, byte_size: int
) -> CreatedUpload:
    """Record a media item awaiting its upload and presign the PUT for it.

    Raises DomainError (UNSUPPORTED_MEDIA_TYPE, MEDIA_TOO_LARGE, INVALID_INPUT) with nothing
    written. Side effects: inserts one media row.
    """
    declared = content_type.strip().lower()
    kind = media_kind(declared)
    # Keep the last path segment only, whichever separator the client's system uses.
    name = filename.strip().replace("\\", "/").rsplit("/", 1)[-1]
    problems = []
    if kind is None:
        problems.append(
            UserError(
                UserErrorCode.UNSUPPORTED_MEDIA_TYPE,
                f"{content_type!r} is not accepted: upload JPEG, PNG, WebP, GIF, HEIC, HEIF, "
                "AVIF, MP4 or QuickTime.",
                ("contentType",),
            )
        )
    limit = deps.limits.max_video_bytes if kind == "VIDEO" else deps.limits.max_image_bytes
    if byte_size <= 0:
        problems.append(
            UserError(UserErrorCode.INVALID_INPUT, "The size must be positive.", ("byteSize",))
        )
    elif kind is not None and byte_size > limit:
        problems.append(
            UserError(
                UserErrorCode.MEDIA_TOO_LARGE,
                f"This file is {byte_size} bytes; the limit is {limit}.",
                ("byteSize",),
            )
        )
    if not name or len(name) > MAX_FILENAME_LENGTH:
        problems.append(
            UserError(
                UserErrorCode.INVALID_INPUT,
                "Give a file name of 1 to 255 characters.",
                ("filename",),
            )
        )
    if problems:
        raise DomainError(*problems)
    assert kind is not None
    media = await media_store.insert_media(
        deps.db,
        owner_id=viewer.user_id,
        kind=kind,
        declared_content_type=declared,
        byte_size=byte_size,
        original_filename=name,
    )
    upload = await deps.blobs.presign_put(
        upload_key(media.id),
        content_type=declared,
        byte_size=byte_size,
        expires_in=deps.limits.url_ttl,
    )
    return CreatedUpload(media=media, upload=upload)


async def fetch_visible_media(
    db: Db, viewer_id: int | None, media_ids: Sequence[int]
) -> list[MediaRecord]:
    """The media among `media_ids` that the viewer (None: anonymous) may see, in no particular
    order. THE visibility rule of media, which every read of a Media on someone's behalf goes
    through (node, nodes, the media loader, the owner's own operations; a page of posts applies
    its SQL form, storage.pg.media.visible_media_sql, in the same statement):

    - the owner sees their media in every status;
    - anyone else, anonymous included, sees a media item only once it is READY in a PUBLISHED
      post that they may see (services.visibility.may_see_post: not the post of a private
      account they do not follow, nor of an account with a block between them). Drafts, the
      ready items of a refused carousel and the media of a deleted post are the owner's alone
      (their file URLs are unguessable: media/<id>/<random>/..., and given to the owner only
      until a post containing them is published);
    - moderation: an item or its post held back (hidden pending review, removed:
      docs/moderation.md) is its owner's alone too.

    No side effects."""
    return await media_store.fetch_visible_media_by_ids(db, media_ids, viewer_id)


async def fetch_own_media(db: Db, viewer: Viewer, media_id: int) -> MediaRecord:
    """The viewer's media item; DomainError NOT_FOUND / FORBIDDEN otherwise.

    Someone else's media that the viewer may not see (fetch_visible_media) is NOT_FOUND, as in
    every read: FORBIDDEN would confirm that it exists. Only visible media of another owner is
    FORBIDDEN."""
    found = await fetch_visible_media(db, viewer.user_id, [media_id])
    if not found:
        raise DomainError.single(UserErrorCode.NOT_FOUND, "No such media.", "mediaId")
    if found[0].owner_id != viewer.user_id:
        raise DomainError.single(UserErrorCode.FORBIDDEN, "This media is not yours.", "mediaId")
    return found[0]


async def complete_upload(deps: MediaDeps, viewer: Viewer, media_id: int) -> MediaRecord:
    """Seal the uploaded object, check it and start processing it.

    The object is first moved from the upload key to a fresh sealed key (see the module
    docstring), so what is checked is what gets processed, whatever is PUT to the upload URL
    later. The sealed object must have exactly the declared size, and its type, sniffed from its
    first bytes, must be one we accept, of the declared kind. Then the media goes PROCESSING
    with that key and one `process_media` job is enqueued after the commit. Calling it again once
    PROCESSING (or later) returns the media unchanged and enqueues nothing.

    Raises DomainError (NOT_FOUND, FORBIDDEN, UPLOAD_INCOMPLETE, UNSUPPORTED_MEDIA_TYPE); the
    refused object is deleted and the media stays AWAITING_UPLOAD, so the client can upload
    again and retry. Side effects: moves (and may delete) objects, updates the row, enqueues.
    """
    media = await fetch_own_media(deps.db, viewer, media_id)
    if media.status != "AWAITING_UPLOAD":
        return media
    sealed = sealed_original_key(media.id)
    try:
        await deps.blobs.move(upload_key(media.id), sealed)
    except BlobNotFoundError:
        (current,) = await media_store.fetch_media_by_ids(deps.db, [media.id])
        if current.status != "AWAITING_UPLOAD":
            return current  # a concurrent call sealed the file first
        raise _incomplete_upload(media, found=None) from None
    try:
        content_type = await _check_sealed_upload(deps.blobs, media, sealed)
    except DomainError:
        await deps.blobs.delete([sealed])
        raise
    if await media_store.mark_processing(
        deps.db, media.id, content_type=content_type, original_key=sealed
    ):
        # After the commit: the job must find the row PROCESSING. Should Redis refuse the job,
        # the sweeper re-enqueues media left PROCESSING, so nothing stays stuck.
        await jobs.enqueue_process_media(deps.queue, media.id)
    else:
        # A concurrent call sealed and recorded its own copy first: ours is never read.
        await deps.blobs.delete([sealed])
    (current,) = await media_store.fetch_media_by_ids(deps.db, [media.id])
    return current


async def _check_sealed_upload(blobs: BlobStore, media: MediaRecord, key: str) -> str:
    """The sniffed content type of the sealed object `key`; DomainError UPLOAD_INCOMPLETE (size
    other than declared) or UNSUPPORTED_MEDIA_TYPE (not an accepted type of the media's kind).
    Reads the object's size and first bytes."""
    stat = await blobs.stat(key)
    if stat is None or stat.size != media.byte_size:
        raise _incomplete_upload(media, found=None if stat is None else stat.size)
    sniffed = sniff_content_type(await blobs.read_head(key, SNIFF_BYTES))
    if sniffed is None or media_kind(sniffed) != media.kind:
        raise DomainError.single(
            UserErrorCode.UNSUPPORTED_MEDIA_TYPE,
            "The uploaded bytes are not an accepted "
            + ("video" if media.kind == "VIDEO" else "image")
            + " format.",
            "mediaId",
        )
    return sniffed


def _incomplete_upload(media: MediaRecord, *, found: int | None) -> DomainError:
    described = "nothing" if found is None else f"{found} bytes"
    return DomainError.single(
        UserErrorCode.UPLOAD_INCOMPLETE,
        f"Expected {media.byte_size} bytes at the upload URL, found {described}.",
        "mediaId",
    )


PURGE_BATCH = 500


async def purge_abandoned_uploads(deps: MediaDeps, *, older_than: timedelta) -> int:
    """Forget uploads that were never completed: media rows still AWAITING_UPLOAD after
    `older_than` (longer than any upload URL lives, so nobody can still PUT them) and the
    partial or unchecked originals a client may have left. Returns how many were purged.

    Side effects: deletes those media rows, then their `uploads/<id>/original` objects (an
    object left by a failed delete is unreachable: nothing points to it any more)."""
    purged = 0
    created_before = datetime.now(UTC) - older_than
    while ids := await media_store.delete_abandoned_uploads(
        deps.db, created_before=created_before, limit=PURGE_BATCH
    ):
        await deps.blobs.delete([upload_key(media_id) for media_id in ids])
        purged += len(ids)
    return purged


def file_keys(record: MediaRecord) -> list[str]:
    """Every stored object of a media item: its upload key (where a late PUT may have left
    something), its sealed original, its variants, its playable copy, a video's renditions
    and HLS files."""
    keys = [upload_key(record.id), *(variant.key for variant in record.variants)]
    keys.extend(rendition.key for rendition in record.renditions)
    keys.extend(record.hls_keys)
    if record.original_key:
        keys.append(record.original_key)
    if record.playback_key and record.playback_key not in keys:
        keys.append(record.playback_key)
    return keys


async def delete_post_files(deps: MediaDeps, post_id: int) -> int:
    """After a post is deleted: remove its media's files from storage and mark the media
    DELETED. Returns how many media items were deleted; running it again does nothing.

    Side effects: deletes objects (originals under uploads/, variants and playable copies under
    media/: the public URLs stop working once a CDN's cached copies expire), then updates the
    rows. Files go first, so a failure in between leaves rows that the retry finds again."""
    records = await media_store.fetch_live_media_of_post(deps.db, post_id)
    if not records:
        return 0
    await deps.blobs.delete([key for record in records for key in file_keys(record)])
    await media_store.mark_media_deleted(deps.db, [record.id for record in records])
    return len(records)
