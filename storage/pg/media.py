"""Queries on `media`: uploads and what processing made of them."""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

import asyncpg
import orjson

from storage.pg import Db, qualified
from storage.pg.visibility import visible_author_sql


class StoredVariant(NamedTuple):
    name: str
    key: str
    width: int
    height: int
    content_type: str


class StoredRendition(NamedTuple):
    """One published H.264/AAC MP4 of a video; `bitrate` is its measured average, bits/s."""

    key: str
    width: int
    height: int
    bitrate: int


class MediaRecord(NamedTuple):
    """A row of `media`. Like the other records read on every page (posts, users), a NamedTuple:
    immutable as a frozen dataclass, and built several times faster (a feed page builds
    hundreds of records, variants included: docs/architecture.md)."""

    id: int
    owner_id: int
    kind: str
    status: str
    declared_content_type: str
    byte_size: int
    original_filename: str
    content_type: str | None
    width: int | None
    height: int | None
    duration_seconds: float | None
    blurhash: str | None
    variants: tuple[StoredVariant, ...]
    playback_key: str | None
    photo_metadata: dict[str, Any] | None
    moderation: str | None
    rejection_reason: str | None
    processing_attempts: int
    created_at: datetime
    updated_at: datetime
    original_key: str | None
    """The private object processing reads: the upload as completeUpload sealed and checked it
    (None until then, and for media completed before sealing existed)."""
    file_token: str
    """The random segment of the media's published keys (unguessable file URLs)."""
    renditions: tuple[StoredRendition, ...]
    """A READY video's MP4 renditions, largest first (empty for images)."""
    hls_keys: tuple[str, ...]
    """A READY video's HLS files, master playlist first (empty for images)."""
    processing_progress: float | None
    """How far a video's transcode has got (0..1) while PROCESSING; None otherwise."""
    moderation_state: str | None = None
    """HIDDEN_PENDING_REVIEW or REMOVED by moderation (docs/moderation.md); None: nothing."""
    sensitive: bool = False
    """Marked sensitive by a moderator: clients show the blurhash and a warning until tapped."""


MEDIA_COLUMNS = ", ".join(MediaRecord._fields)
"""The columns of a MediaRecord, in its order (media_from_row reads rows by position)."""
_MEDIA_COLUMNS_OF_M = qualified(MEDIA_COLUMNS, "m")
_VARIANTS = MediaRecord._fields.index("variants")
_PHOTO_METADATA = MediaRecord._fields.index("photo_metadata")
_RENDITIONS = MediaRecord._fields.index("renditions")
_HLS_KEYS = MediaRecord._fields.index("hls_keys")


@dataclass(frozen=True, slots=True)
class ProcessedMedia:
    """What a successful processing run stores."""

    width: int
    height: int
    duration_seconds: float | None
    blurhash: str
    variants: Sequence[StoredVariant]
    playback_key: str | None
    photo_metadata: dict[str, Any] | None
    moderation: str
    renditions: Sequence[StoredRendition] = ()
    hls_keys: Sequence[str] = ()


_VARIANT_FIELDS = operator.itemgetter(*StoredVariant._fields)


@lru_cache(maxsize=4096)
def _variants(text: str) -> tuple[StoredVariant, ...]:
    """The variants in a `variants` JSON text. Cached by text (the records are immutable): a
    feed shows the same posts to many viewers, and decoding a photo's six variants costs more
    than the rest of its row."""
    return tuple([StoredVariant._make(_VARIANT_FIELDS(item)) for item in orjson.loads(text)])


def media_from_row(row: asyncpg.Record) -> MediaRecord:
    """The media of a row (or of a `media` composite value) holding exactly MEDIA_COLUMNS, in
    that order."""
    values = list(row)
    values[_VARIANTS] = _variants(values[_VARIANTS])
    metadata = values[_PHOTO_METADATA]
    values[_PHOTO_METADATA] = orjson.loads(metadata) if metadata is not None else None
    values[_RENDITIONS] = _renditions(values[_RENDITIONS])
    values[_HLS_KEYS] = tuple(values[_HLS_KEYS])
    return MediaRecord._make(values)


_NO_RENDITIONS: tuple[StoredRendition, ...] = ()


@lru_cache(maxsize=1024)
def _renditions(text: str) -> tuple[StoredRendition, ...]:
    """The renditions in a `renditions` JSON text (cached by text, as _variants)."""
    if text == "[]":
        return _NO_RENDITIONS
    return tuple(
        StoredRendition(item["key"], item["width"], item["height"], item["bitrate"])
        for item in orjson.loads(text)
    )


async def insert_media(
    db: Db,
    *,
    owner_id: int,
    kind: str,
    declared_content_type: str,
    byte_size: int,
    original_filename: str,
) -> MediaRecord:
    row = await db.fetchrow(
        f"""
        INSERT INTO media (owner_id, kind, declared_content_type, byte_size, original_filename)
        VALUES ($1, $2, $3, $4, $5)
        RETURNING {MEDIA_COLUMNS}
        """,
        owner_id,
        kind,
        declared_content_type,
        byte_size,
        original_filename,
    )
    assert row is not None
    return media_from_row(row)


def visible_media_sql(media: str, post: str, viewer: str, *, author_checked: bool = False) -> str:
    """The SQL form of services.media.fetch_visible_media's rule, as a boolean expression: the
    media row `media` is visible to the viewer whose id is `viewer` (a placeholder, NULL when
    anonymous) when they own it, or when it is READY in a published post the viewer may see
    (services.visibility.may_see_post: the viewer may see its author's content). `post` is the
    alias of the post containing the media (NULL columns, e.g. from a LEFT JOIN, when in none).
    `author_checked`: the caller decides on the author's content itself (a post view carries
    it and hides the whole post), so the probe is left out here. Moderation: an item or a post
    that moderation holds back (a moderation_state) is shown to the item's owner only, as
    their unpublished media are (docs/moderation.md)."""
    author = "" if author_checked else f" AND {visible_author_sql(f'{post}.author_id', viewer)}"
    return (
        f"coalesce({media}.owner_id = {viewer}"
        f" OR ({media}.status = 'READY' AND {post}.status = 'PUBLISHED'"
        f" AND {media}.moderation_state IS NULL AND {post}.moderation_state IS NULL{author}),"
        " false)"
    )


async def fetch_media_by_ids(db: Db, ids: Sequence[int]) -> list[MediaRecord]:
    """The media among `ids` that exist, whoever may see them, in no particular order: for the
    owner's own operations and the workers; reads on behalf of a viewer use
    fetch_visible_media_by_ids."""
    rows = await db.fetch(f"SELECT {MEDIA_COLUMNS} FROM media WHERE id = ANY($1::bigint[])", ids)
    return [media_from_row(row) for row in rows]


_VISIBLE_BY_IDS = f"""
SELECT {_MEDIA_COLUMNS_OF_M}
  FROM media m
  LEFT JOIN post_media pm ON pm.media_id = m.id
  LEFT JOIN posts p ON p.id = pm.post_id
 WHERE m.id = ANY($1::bigint[]) AND {visible_media_sql("m", "p", "$2")}
"""


async def fetch_visible_media_by_ids(
    db: Db, ids: Sequence[int], viewer_id: int | None
) -> list[MediaRecord]:
    """The media among `ids` that `viewer_id` (None: anonymous) may see (`visible_media_sql`),
    in no particular order. A media item is in at most one post (post_media.media_id is
    unique), so the join yields one row per item."""
    rows = await db.fetch(_VISIBLE_BY_IDS, ids, viewer_id)
    return [media_from_row(row) for row in rows]


async def mark_processing(db: Db, media_id: int, *, content_type: str, original_key: str) -> bool:
    """AWAITING_UPLOAD -> PROCESSING with the sniffed type and the checked original's key;
    False when it was not awaiting."""
    status = await db.execute(
        """
        UPDATE media SET status = 'PROCESSING', content_type = $2, original_key = $3,
                         updated_at = now()
         WHERE id = $1 AND status = 'AWAITING_UPLOAD'
        """,
        media_id,
        content_type,
        original_key,
    )
    return status == "UPDATE 1"


async def fetch_media_status(db: Db, media_id: int) -> str | None:
    """The media item's status, or None when there is no such item."""
    status: str | None = await db.fetchval("SELECT status FROM media WHERE id = $1", media_id)
    return status


async def mark_ready(db: Db, media_id: int, result: ProcessedMedia) -> MediaRecord | None:
    """PROCESSING -> READY with the processing result; None when it was not processing."""
    variants = [variant._asdict() for variant in result.variants]
    row = await db.fetchrow(
        f"""
        UPDATE media
           SET status = 'READY', width = $2, height = $3, duration_seconds = $4, blurhash = $5,
               variants = $6::jsonb, playback_key = $7, photo_metadata = $8::jsonb,
               moderation = $9, rejection_reason = NULL, renditions = $10::jsonb,
               hls_keys = $11::text[], processing_progress = NULL, updated_at = now()
         WHERE id = $1 AND status = 'PROCESSING'
        RETURNING {MEDIA_COLUMNS}
        """,
        media_id,
        result.width,
        result.height,
        result.duration_seconds,
        result.blurhash,
        orjson.dumps(variants).decode(),
        result.playback_key,
        orjson.dumps(result.photo_metadata).decode() if result.photo_metadata else None,
        result.moderation,
        orjson.dumps([rendition._asdict() for rendition in result.renditions]).decode(),
        list(result.hls_keys),
    )
    return media_from_row(row) if row else None


async def record_progress(db: Db, media_id: int, progress: float) -> bool:
    """Store how far a PROCESSING media item's transcode has got; False when it is no longer
    PROCESSING (nothing written)."""
    status: str = await db.execute(
        "UPDATE media SET processing_progress = $2 WHERE id = $1 AND status = 'PROCESSING'",
        media_id,
        progress,
    )
    return status == "UPDATE 1"


async def mark_failed(
    db: Db, media_id: int, *, status: str, reason: str, moderation: str | None = None
) -> MediaRecord | None:
    """PROCESSING -> REJECTED or FAILED with the reason; None when it was not processing."""
    assert status in ("REJECTED", "FAILED")
    row = await db.fetchrow(
        f"""
        UPDATE media
           SET status = $2, rejection_reason = $3, moderation = coalesce($4, moderation),
               processing_progress = NULL, updated_at = now()
         WHERE id = $1 AND status = 'PROCESSING'
        RETURNING {MEDIA_COLUMNS}
        """,
        media_id,
        status,
        reason,
        moderation,
    )
    return media_from_row(row) if row else None


async def claim_stale_processing(
    db: Db, *, stale_before: datetime, limit: int = 500
) -> list[tuple[int, int]]:
    """Media PROCESSING since before `stale_before`: bump their attempt count and touch them.

    Returns (media id, attempts so far) pairs. Rows locked by another sweeper are skipped.
    """
    rows = await db.fetch(
        """
        UPDATE media SET processing_attempts = processing_attempts + 1, updated_at = now()
         WHERE id IN (
               SELECT id FROM media
                WHERE status = 'PROCESSING' AND updated_at < $1
                ORDER BY updated_at
                LIMIT $2
                  FOR UPDATE SKIP LOCKED)
        RETURNING id, processing_attempts
        """,
        stale_before,
        limit,
    )
    return [(row["id"], row["processing_attempts"]) for row in rows]


class LockedMedia(NamedTuple):
    owner_id: int
    status: str
    visible: bool
    """Whether the viewer the rows were locked for may see the item (`visible_media_sql`)."""


async def lock_media_statuses(
    db: Db, media_ids: Sequence[int], viewer_id: int
) -> dict[int, LockedMedia]:
    """{media id: (owner id, status, visible to `viewer_id`)} of these media, the media rows
    share-locked until the transaction ends."""
    rows = await db.fetch(
        f"""
        SELECT m.id, m.owner_id, m.status, {visible_media_sql("m", "p", "$2")} AS visible
          FROM media m
          LEFT JOIN post_media pm ON pm.media_id = m.id
          LEFT JOIN posts p ON p.id = pm.post_id
         WHERE m.id = ANY($1::bigint[]) ORDER BY m.id FOR SHARE OF m
        """,
        media_ids,
        viewer_id,
    )
    return {row["id"]: LockedMedia(row["owner_id"], row["status"], row["visible"]) for row in rows}


async def delete_abandoned_uploads(db: Db, *, created_before: datetime, limit: int) -> list[int]:
    """Delete up to `limit` media still AWAITING_UPLOAD that were created before
    `created_before` (and are in no post); returns their ids. A completeUpload racing this
    either moves the row on first (then it stays) or finds it gone."""
    rows = await db.fetch(
        """
        DELETE FROM media
         WHERE id IN (
               SELECT m.id FROM media m
                WHERE m.status = 'AWAITING_UPLOAD' AND m.created_at < $1
                  AND NOT EXISTS (SELECT 1 FROM post_media pm WHERE pm.media_id = m.id)
                ORDER BY m.created_at
                LIMIT $2)
           AND status = 'AWAITING_UPLOAD'
        RETURNING id
        """,
        created_before,
        limit,
    )
    return [row["id"] for row in rows]


async def fetch_live_media_of_post(db: Db, post_id: int) -> list[MediaRecord]:
    """The post's media not yet DELETED (any other status)."""
    rows = await db.fetch(
        f"""
        SELECT {_MEDIA_COLUMNS_OF_M}
          FROM post_media pm JOIN media m ON m.id = pm.media_id
         WHERE pm.post_id = $1 AND m.status <> 'DELETED'
        """,
        post_id,
    )
    return [media_from_row(row) for row in rows]


async def mark_media_deleted(db: Db, media_ids: Sequence[int]) -> None:
    """DELETED, with no file keys, metadata or placeholder left on the rows."""
    await db.execute(
        """
        UPDATE media
           SET status = 'DELETED', variants = '[]', playback_key = NULL, original_key = NULL,
               blurhash = NULL, photo_metadata = NULL, renditions = '[]', hls_keys = '{}',
               processing_progress = NULL, updated_at = now()
         WHERE id = ANY($1::bigint[])
        """,
        media_ids,
    )
