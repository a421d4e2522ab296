"""process_media: turn an uploaded original into published variants, or a clear refusal.

Every run ends the media READY, REJECTED (the file is refused, with a reason the owner sees) or
FAILED (we could not process it), or raises TransientProcessingError for the caller to retry.
Output keys derive from the media id and its random file token (unguessable, drawn once per
media item), so a rerun overwrites the same objects.

A run reads the sealed original (services.media.complete_upload) exactly once, into a temporary
folder; everything it checks, moderates and publishes derives from that one local copy. A
video is transcoded (media.video_renditions) into H.264/AAC MP4 renditions and an HLS ladder
over them, written fresh with no metadata: never the original's bytes, which stay private.
The media stays PROCESSING until every rendition is published; meanwhile its
processingProgress is stored and announced (throttled). Camera, capture time and position (a
photo's EXIF, a video's container tags) are kept on the row for the owner only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import threading
import time
from dataclasses import dataclass, field
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
from media.pdq import HASH_INPUT_SIZE, hash_encoded
from media.video import VideoInfo, probe_video
from media.video_keyframes import sample_keyframes
from media.video_renditions import (
    Ladder,
    TranscodeCancelledError,
    TranscodeOptions,
    TranscodeTimeoutError,
    transcode_ladder,
)
from services import known_images, moderation_cases, posts
from services.known_images import Blocklist, FrameHash
from services.media import upload_key
from services.moderation import Moderator, Verdict
from services.moderation_cases import CaseSource, Subject, SubjectKind
from storage import jobs, redis_keys
from storage.blobs import BlobNotFoundError, BlobStore, BlobStoreUnavailableError
from storage.pg import Db
from storage.pg import media as media_store
from storage.pg.media import MediaRecord, ProcessedMedia, StoredRendition, StoredVariant
from storage.pubsub import publish

log = logging.getLogger(__name__)

PUBLISHED_CACHE_CONTROL = "public, max-age=31536000, immutable"
HLS_CONTENT_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".mp4": "video/mp4"}


class TransientProcessingError(Exception):
    """Storage was unavailable; the same run may succeed later."""


@dataclass(frozen=True, slots=True)
class ProcessingLimits:
    max_pixels: int
    max_video_seconds: float
    time_limit_seconds: float
    """A photo's whole run; a video's run outside its transcode."""
    max_video_pixels: int = 4096 * 2304
    max_video_bytes: int = 200 * 1024 * 1024
    max_video_frame_rate: float = 240.0
    video_time_limit_seconds: float = 600.0
    """The transcode's own limit: past it the media ends REJECTED."""
    x264_preset: str = "veryfast"
    progress_interval_seconds: float = 1.0
    video_keyframes: int = 4
    """Keyframes sampled through a video for the PDQ blocklist and the classifier."""

    def run_limit_seconds(self, kind: str) -> float:
        """The whole run's limit for a media kind."""
        if kind == "VIDEO":
            return self.time_limit_seconds + self.video_time_limit_seconds
        return self.time_limit_seconds


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
    transcode_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(1))
    """Bounds concurrent video transcodes per process (each already uses every core)."""
    blocklist: Blocklist = field(default_factory=Blocklist)
    """The known-bad images this process matches against (services.known_images)."""


@dataclass(frozen=True, slots=True)
class _Rendered:
    image: ProcessedImage
    duration_seconds: float | None
    width: int
    height: int
    metadata: PhotoMetadata
    """Owner-only: a photo's EXIF or a video's container tags."""
    hashes: list[FrameHash]
    """PDQ: the photo (or poster) as frame 0, then a video's sampled keyframes."""
    keyframes: list[bytes]
    """A video's sampled keyframes as small JPEGs, for the classifier (none for a photo)."""


@dataclass(frozen=True, slots=True)
class PublishedLadder:
    """The keys of a published video ladder: renditions largest first, HLS master first."""

    renditions: list[StoredRendition]
    hls_keys: list[str]


def variant_key(media: MediaRecord, variant_name: str) -> str:
    """Where a variant is published. The media's random file token makes the key unguessable:
    media ids are sequential, and a draft's files must not be found by counting."""
    return f"media/{media.id}/{media.file_token}/{variant_name}.jpg"


def media_folder(media: MediaRecord) -> str:
    """The unguessable folder of a media item's published files (see variant_key)."""
    return f"media/{media.id}/{media.file_token}"


def rendition_key(folder: str, name: str) -> str:
    """Where a video's MP4 rendition is published, in its media folder."""
    return f"{folder}/video/{name}.mp4"


def hls_key(folder: str, relative: str) -> str:
    """Where a file of a video's HLS ladder is published (the playlists refer to one another
    by relative URIs, so the ladder keeps its layout under one folder)."""
    return f"{folder}/hls/{relative}"


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
    time_limit = deps.limits.run_limit_seconds(media.kind)
    try:
        async with asyncio.timeout(time_limit):
            outcome = await _process(deps, media)
    except TranscodeTimeoutError:
        outcome = await media_store.mark_failed(
            deps.db,
            media.id,
            status="REJECTED",
            reason=f"transcoding took longer than {deps.limits.video_time_limit_seconds:.0f} s",
        )
    except RejectedMediaError as refusal:
        outcome = await media_store.mark_failed(
            deps.db, media.id, status="REJECTED", reason=refusal.reason
        )
    except TimeoutError:
        outcome = await media_store.mark_failed(
            deps.db,
            media.id,
            status="REJECTED",
            reason=f"processing took longer than {time_limit:.0f} s",
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
            rendered, video = await asyncio.to_thread(_render, media, original, deps.limits)
        # Moderation (docs/moderation.md): the photo, or a video's poster and sampled
        # keyframes, before anything is transcoded or published. A known-bad image ends the
        # run REJECTED with a case; a classifier flag opens a case that hides the media
        # pending review, and the run goes on.
        await known_images.save_hashes(deps.db, media.id, rendered.hashes)
        match = await deps.blocklist.find(deps.db, rendered.hashes)
        if match is not None:
            return await known_images.reject_known_image(deps.db, media.id, match)
        verdict = await _classify(deps.moderator, rendered)
        if verdict.flagged:
            await moderation_cases.open_system_case(
                deps.db,
                Subject(SubjectKind.MEDIA, media.id),
                source=CaseSource.CLASSIFIER,
                detail=f"classifier flagged it: {verdict.summary}",
                hide=True,
            )
        ladder = None
        if video is not None:
            async with deps.transcode_slots:
                ladder = await _transcode(deps, media, original, workspace, video)
        stored = await _store_variants(deps.blobs, media, rendered.image.variants)
        published = (
            await publish_ladder(deps.blobs, media_folder(media), ladder) if ladder else None
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
            playback_key=published.renditions[0].key if published else None,
            photo_metadata=_metadata_json(rendered.metadata),
            moderation=verdict.summary,
            renditions=published.renditions if published else (),
            hls_keys=published.hls_keys if published else (),
        ),
    )
    if ready is None:
        # No longer PROCESSING. If its post was deleted meanwhile, the files job has already
        # run: take back what this run stored (another run that made it READY stored the same
        # keys, so those stay).
        (current,) = await media_store.fetch_media_by_ids(deps.db, [media.id]) or (None,)
        if current is not None and current.status == "DELETED":
            stored_keys = [variant.key for variant in stored]
            if published is not None:
                stored_keys += [item.key for item in published.renditions]
                stored_keys += published.hls_keys
            await deps.blobs.delete(stored_keys)
    return ready


async def _classify(moderator: Moderator, rendered: _Rendered) -> Verdict:
    """The classifier's verdict on the picture (a video's poster), then on each keyframe until
    one is flagged."""
    verdict = await moderator.check(_largest(rendered.image.variants).data)
    for keyframe in rendered.keyframes:
        if verdict.flagged:
            break
        verdict = await moderator.check(keyframe)
    return verdict


def _render(
    media: MediaRecord, original: Path, limits: ProcessingLimits
) -> tuple[_Rendered, VideoInfo | None]:
    """CPU-bound: decode and derive every image variant and the PDQ hashes (runs in a worker
    thread); a video is probed (limits from its header), its poster rendered like a photo and
    a few keyframes sampled."""
    if media.kind == "VIDEO":
        size = original.stat().st_size
        if size > limits.max_video_bytes:
            raise RejectedMediaError(
                f"video is {size} bytes; the limit is {limits.max_video_bytes}"
            )
        video = probe_video(
            original,
            max_pixels=limits.max_video_pixels,
            max_duration_seconds=limits.max_video_seconds,
            max_frame_rate=limits.max_video_frame_rate,
        )
        poster = process_image(video.poster_jpeg, max_pixels=limits.max_pixels)
        keyframes = sample_keyframes(
            original, duration_seconds=video.duration_seconds, count=limits.video_keyframes
        )
        hashes = [_picture_hash(poster)] + [
            FrameHash(number, keyframe.at_seconds, hash_encoded(keyframe.jpeg))
            for number, keyframe in enumerate(keyframes, start=1)
        ]
        rendered = _Rendered(
            poster,
            video.duration_seconds,
            video.width,
            video.height,
            video.metadata,
            hashes,
            [keyframe.jpeg for keyframe in keyframes],
        )
        return rendered, video
    image = process_image(original.read_bytes(), max_pixels=limits.max_pixels)
    rendered = _Rendered(
        image, None, image.width, image.height, image.metadata, [_picture_hash(image)], []
    )
    return rendered, None


def _picture_hash(image: ProcessedImage) -> FrameHash:
    """Frame 0: the PDQ hash of the smallest full-frame variant at least HASH_INPUT_SIZE
    (512) px on its longer side (the 640 px one of a large photo), else the largest: PDQ
    shrinks to 512 px and then 64x64 anyway, and decoding a 640 px JPEG costs about half of
    decoding the 1080 px one (bench/pdq), for hashes within a few bits of the original's."""
    full_frame = [item for item in image.variants if not item.name.startswith("thumb")]
    wide_enough = [item for item in full_frame if max(item.width, item.height) >= HASH_INPUT_SIZE]
    source = (
        min(wide_enough, key=lambda item: item.width * item.height)
        if wide_enough
        else _largest(tuple(full_frame) or image.variants)
    )
    return FrameHash(0, None, hash_encoded(source.data))


async def _transcode(
    deps: ProcessingDeps, media: MediaRecord, original: Path, workspace: Path, video: VideoInfo
) -> Ladder:
    """Run the transcode in a thread, reporting progress (throttled) while it runs. If this
    task is cancelled (run time limit, worker shutdown), the thread is told to stop and is
    awaited, so no transcode outlives its job."""
    loop = asyncio.get_running_loop()
    updates: asyncio.Queue[float] = asyncio.Queue()
    stop = threading.Event()
    interval = deps.limits.progress_interval_seconds
    last_report = [time.monotonic()]

    def on_progress(fraction: float) -> None:  # the transcoding thread
        now = time.monotonic()
        if now - last_report[0] >= interval:
            last_report[0] = now
            loop.call_soon_threadsafe(updates.put_nowait, fraction)

    options = TranscodeOptions(
        preset=deps.limits.x264_preset,
        deadline=time.monotonic() + deps.limits.video_time_limit_seconds,
        on_progress=on_progress,
        should_stop=stop.is_set,
    )
    reporter = asyncio.create_task(_report_progress(deps, media, updates))
    work = asyncio.create_task(
        asyncio.to_thread(
            transcode_ladder,
            original,
            workspace / "renditions",
            duration_seconds=video.duration_seconds,
            options=options,
        )
    )
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        stop.set()
        with contextlib.suppress(TranscodeCancelledError, RejectedMediaError):
            await work
        raise
    finally:
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter


async def _report_progress(
    deps: ProcessingDeps, media: MediaRecord, updates: asyncio.Queue[float]
) -> None:
    """Store and announce each progress update (best effort: a failure is logged, the
    transcode goes on)."""
    while True:
        fraction = round(await updates.get(), 3)
        try:
            if await media_store.record_progress(deps.db, media.id, fraction):
                await _announce_progress(deps.redis, media, fraction)
        except Exception:  # progress is a courtesy; the run must not fail for it
            log.warning("media %s: could not report progress", media.id, exc_info=True)


async def publish_ladder(blobs: BlobStore, folder: str, ladder: Ladder) -> PublishedLadder:
    """Upload the renditions and the HLS files (playlists last, so nothing they name is
    missing when they appear). Side effect: writes objects under `folder`."""
    renditions = [
        StoredRendition(rendition_key(folder, item.name), item.width, item.height, item.bitrate)
        for item in ladder.renditions
    ]
    media_files = [name for name in ladder.hls_files if not name.endswith(".m3u8")]
    playlists = [name for name in ladder.hls_files if name.endswith(".m3u8")]
    await asyncio.gather(
        *(
            blobs.put_file(
                stored.key,
                item.path,
                content_type="video/mp4",
                cache_control=PUBLISHED_CACHE_CONTROL,
            )
            for stored, item in zip(renditions, ladder.renditions, strict=True)
        ),
        *(_put_hls_file(blobs, folder, ladder, name) for name in media_files),
    )
    await asyncio.gather(*(_put_hls_file(blobs, folder, ladder, name) for name in playlists))
    return PublishedLadder(renditions, [hls_key(folder, name) for name in ladder.hls_files])


async def _put_hls_file(blobs: BlobStore, folder: str, ladder: Ladder, name: str) -> None:
    await blobs.put_file(
        hls_key(folder, name),
        ladder.hls_root / name,
        content_type=HLS_CONTENT_TYPES[Path(name).suffix],
        cache_control=PUBLISHED_CACHE_CONTROL,
    )


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


async def _announce_progress(redis: Redis, media: MediaRecord, fraction: float) -> None:
    """Best effort, as _announce: the subscription re-reads the row (processingProgress)."""
    await publish(
        redis,
        redis_keys.user_events_channel(media.owner_id),
        {
            "type": "media_status",
            "media_id": media.id,
            "status": "PROCESSING",
            "progress": fraction,
        },
    )


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
