"""process_media: turn an uploaded original into published variants, or a clear refusal.

Every run ends the media READY, REJECTED (the file is refused, with a reason the owner sees) or
FAILED (we could not process it), or raises TransientProcessingError for the caller to retry.
Output keys derive from the media id and its random file token (unguessable, drawn once per
media item), so a rerun overwrites the same objects.

A run reads the sealed original (services.media.complete_upload) exactly once, into a temporary
folder; everything it checks, moderates and publishes derives from that one local copy. A
video's playable file is a copy without any metadata (media.video.remux_without_metadata),
never the original's bytes; the original stays private. Camera, capture time and position
(a photo's EXIF, a video's container tags) are kept on the row for the owner only.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from arq.connections import ArqRedis
from redis.asyncio import Redis

from media.images import (
    PhotoMetadata,
    ProcessedImage,
    RejectedMediaError,
    Variant,
    process_image,
)
from media.video import probe_video, remux_without_metadata
from services import posts
from services.media import upload_key
from services.moderation import Moderator
from storage import jobs, redis_keys
from storage.blobs import BlobNotFoundError, BlobStore, BlobStoreUnavailableError
from storage.pg import Db
from storage.pg import media as media_store
from storage.pg.media import MediaRecord, ProcessedMedia, StoredVariant
from storage.pubsub import publish

log = logging.getLogger(__name__)

PUBLISHED_CACHE_CONTROL = "public, max-age=31536000, immutable"
VIDEO_EXTENSIONS = {"video/mp4": "mp4", "video/quicktime": "mov"}


class TransientProcessingError(Exception):
    """Storage was unavailable; the same run may succeed later."""


@dataclass(frozen=True, slots=True)
class ProcessingLimits:
    max_pixels: int
    max_video_seconds: float
    time_limit_seconds: float


@dataclass(frozen=True, slots=True)
class ProcessingDeps:
    db: Db
    redis: ArqRedis
    """Pub/sub for status events, and the queue for the posts this media completes."""
    blobs: BlobStore
    moderator: Moderator
    limits: ProcessingLimits
    cpu_slots: asyncio.Semaphore
    """Bounds concurrent decoding per process (CPU and memory)."""
    publishing: posts.PostDeps
    """To publish the posts waiting for a media item."""


@dataclass(frozen=True, slots=True)
class _Playable:
    """A video's publishable copy, written in the run's temporary folder."""

    path: Path
    content_type: str


@dataclass(frozen=True, slots=True)
class _Rendered:
    image: ProcessedImage
    duration_seconds: float | None
    width: int
    height: int
    metadata: PhotoMetadata
    """Owner-only: a photo's EXIF or a video's container tags."""
    playable: _Playable | None


def variant_key(media: MediaRecord, variant_name: str) -> str:
    """Where a variant is published. The media's random file token makes the key unguessable:
    media ids are sequential, and a draft's files must not be found by counting."""
    return f"media/{media.id}/{media.file_token}/{variant_name}.jpg"


def playback_key(media: MediaRecord, content_type: str) -> str:
    """Where a video's playable copy is published (unguessable, as variant_key)."""
    extension = VIDEO_EXTENSIONS.get(content_type, "mp4")
    return f"media/{media.id}/{media.file_token}/video.{extension}"


def original_key(media: MediaRecord) -> str:
    """The private object a run reads: the original completeUpload sealed (the upload key for
    media completed before sealing existed)."""
    return media.original_key or upload_key(media.id)


async def process_media(
    deps: ProcessingDeps, media_id: int, *, last_try: bool
) -> MediaRecord | None:
    """Process one PROCESSING media item (others are left alone and returned as they are).

    Side effects: downloads the original to a temporary folder, writes the variants (and a
    video's playable copy) to the blob store, updates the media row, publishes the status
    change to the owner's event channel. Raises TransientProcessingError when storage is down
    and this is not the last try (on the last try the media ends FAILED instead).
    """
    found = await media_store.fetch_media_by_ids(deps.db, [media_id])
    if not found or found[0].status != "PROCESSING":
        return found[0] if found else None
    media = found[0]
    try:
        async with asyncio.timeout(deps.limits.time_limit_seconds):
            outcome = await _process(deps, media)
    except RejectedMediaError as refusal:
        outcome = await media_store.mark_failed(
            deps.db, media.id, status="REJECTED", reason=refusal.reason
        )
    except TimeoutError:
        outcome = await media_store.mark_failed(
            deps.db,
            media.id,
            status="REJECTED",
            reason=f"processing took longer than {deps.limits.time_limit_seconds:.0f} s",
        )
    except BlobNotFoundError:
        outcome = await media_store.mark_failed(
            deps.db, media.id, status="FAILED", reason="the uploaded file is gone; upload again"
        )
    except BlobStoreUnavailableError as error:
        if not last_try:
            raise TransientProcessingError(str(error)) from error
        outcome = await media_store.mark_failed(
            deps.db, media.id, status="FAILED", reason="storage unavailable; upload again"
        )
    if outcome is not None:
        await _settle(deps, outcome)
    return outcome


async def _settle(deps: ProcessingDeps, media: MediaRecord) -> None:
    """Tell the owner, and publish (or refuse) the posts waiting for this media item."""
    await _announce(deps.redis, media)
    await posts.settle_posts_of_media(deps.publishing, media.id)


async def fail_media(deps: ProcessingDeps, media_id: int, reason: str) -> MediaRecord | None:
    """End a PROCESSING media item FAILED (after an unexpected error) and announce it."""
    outcome = await media_store.mark_failed(deps.db, media_id, status="FAILED", reason=reason)
    if outcome is not None:
        await _settle(deps, outcome)
    return outcome


async def _process(deps: ProcessingDeps, media: MediaRecord) -> MediaRecord | None:
    with tempfile.TemporaryDirectory(prefix=f"media-{media.id}-") as folder:
        workspace = Path(folder)
        original = workspace / "original"
        # The run's one read of the original: nothing below reads the store again.
        await deps.blobs.download(original_key(media), original)
        async with deps.cpu_slots:
            rendered = await asyncio.to_thread(_render, media, original, workspace, deps.limits)
        verdict = await deps.moderator.check(_largest(rendered.image.variants).data)
        if verdict.flagged:
            return await media_store.mark_failed(
                deps.db,
                media.id,
                status="REJECTED",
                reason="flagged by moderation",
                moderation=verdict.summary,
            )
        stored = await _store_variants(deps.blobs, media, rendered.image.variants)
        playable_key = None
        if rendered.playable is not None:
            playable_key = playback_key(media, rendered.playable.content_type)
            await deps.blobs.put_file(
                playable_key,
                rendered.playable.path,
                content_type=rendered.playable.content_type,
                cache_control=PUBLISHED_CACHE_CONTROL,
            )
    ready = await media_store.mark_ready(
        deps.db,
        media.id,
        ProcessedMedia(
            width=rendered.width,
            height=rendered.height,
            duration_seconds=rendered.duration_seconds,
            blurhash=rendered.image.blurhash,
            variants=stored,
            playback_key=playable_key,
            photo_metadata=_metadata_json(rendered.metadata),
            moderation=verdict.summary,
        ),
    )
    if ready is None:
        # No longer PROCESSING. If its post was deleted meanwhile, the files job has already
        # run: take back what this run stored (another run that made it READY stored the same
        # keys, so those stay).
        (current,) = await media_store.fetch_media_by_ids(deps.db, [media.id]) or (None,)
        if current is not None and current.status == "DELETED":
            stored_keys = [variant.key for variant in stored]
            await deps.blobs.delete([*stored_keys, *([playable_key] if playable_key else [])])
    return ready


def _render(
    media: MediaRecord, original: Path, workspace: Path, limits: ProcessingLimits
) -> _Rendered:
    """CPU-bound: decode and derive every variant (runs in a worker thread). A video's
    playable copy is written into `workspace`."""
    if media.kind == "VIDEO":
        video = probe_video(
            original, max_pixels=limits.max_pixels, max_duration_seconds=limits.max_video_seconds
        )
        poster = process_image(video.poster_jpeg, max_pixels=limits.max_pixels)
        playable = workspace / "playable"
        content_type = remux_without_metadata(original, playable)
        return _Rendered(
            poster,
            video.duration_seconds,
            video.width,
            video.height,
            video.metadata,
            _Playable(playable, content_type),
        )
    image = process_image(original.read_bytes(), max_pixels=limits.max_pixels)
    return _Rendered(image, None, image.width, image.height, image.metadata, None)


def _largest(variants: tuple[Variant, ...]) -> Variant:
    return max(variants, key=lambda variant: variant.width * variant.height)


async def _store_variants(
    blobs: BlobStore, media: MediaRecord, variants: tuple[Variant, ...]
) -> list[StoredVariant]:
    stored = [
        StoredVariant(
            name=variant.name,
            key=variant_key(media, variant.name),
            width=variant.width,
            height=variant.height,
            content_type=variant.content_type,
        )
        for variant in variants
    ]
    await asyncio.gather(
        *(
            blobs.put(
                item.key,
                variant.data,
                content_type=variant.content_type,
                cache_control=PUBLISHED_CACHE_CONTROL,
            )
            for item, variant in zip(stored, variants, strict=True)
        )
    )
    return stored


def _metadata_json(meta: PhotoMetadata) -> dict[str, Any] | None:
    values: dict[str, Any] = {
        "camera_make": meta.camera_make,
        "camera_model": meta.camera_model,
        "taken_at": meta.taken_at.isoformat() if meta.taken_at else None,
        "latitude": meta.latitude,
        "longitude": meta.longitude,
    }
    return values if any(value is not None for value in values.values()) else None


async def _announce(redis: Redis, media: MediaRecord) -> None:
    """Best effort (see storage.pubsub.publish): a lost event is caught up by querying."""
    await publish(
        redis,
        redis_keys.user_events_channel(media.owner_id),
        {"type": "media_status", "media_id": media.id, "status": media.status},
    )


async def sweep_stale_media(
    deps: ProcessingDeps, queue: ArqRedis, *, stale_after: timedelta, max_sweeps: int
) -> int:
    """Re-enqueue media PROCESSING for longer than `stale_after` (its worker died, or its job
    was lost); after `max_sweeps` re-enqueues, end it FAILED. Returns how many were handled.

    Side effects: bumps the rows' attempt counters, enqueues jobs, may mark media FAILED.
    """
    stale = await media_store.claim_stale_processing(
        deps.db, stale_before=datetime.now(UTC) - stale_after
    )
    for media_id, sweeps in stale:
        if sweeps > max_sweeps:
            await fail_media(deps, media_id, "processing did not finish after several tries")
        else:
            await jobs.enqueue_process_media(queue, media_id, sweep=sweeps)
    if stale:
        log.warning("sweeper: re-enqueued or failed %d stale media", len(stale))
    return len(stale)
