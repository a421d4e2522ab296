"""process_media through a real burst arq worker on the test Redis, and the processing service
for what a worker cannot be made to do on demand (storage outages). Moderation hits (known-bad
images, classifier flags): test_known_images.py."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path
from typing import Any

import av
import pytest
import pyvips

from resources import Resources
from services import media, media_processing
from services.media import upload_key
from services.media_processing import (
    ProcessingDeps,
    ProcessingLimits,
    TransientProcessingError,
    variant_key,
)
from services.moderation import NoModeration
from settings import Settings
from storage.blobs import BlobStoreUnavailableError, InvalidBlobKeyError
from storage.pg import media as media_store
from storage.pg.media import MediaRecord
from storage.pg.users import UserRecord
from tests import media_fixtures
from tests.conftest import run_worker_until_idle
from tests.factories import make_user, viewer_of
from workers import jobs


@pytest.fixture
async def owner(clean: Resources) -> UserRecord:
    return await make_user(clean.db, "owner")


async def start_processing(
    resources: Resources, owner: UserRecord, data: bytes, content_type: str
) -> int:
    """createUpload, the client's PUT (straight into the store), completeUpload."""
    created = await media.create_upload(
        resources.media,
        viewer_of(owner),
        filename="f",
        content_type=content_type,
        byte_size=len(data),
    )
    await resources.blobs.put(
        upload_key(created.media.id), data, content_type=content_type, cache_control="private"
    )
    completed = await media.complete_upload(resources.media, viewer_of(owner), created.media.id)
    assert completed.status == "PROCESSING"
    return created.media.id


async def load(resources: Resources, media_id: int) -> MediaRecord:
    (record,) = await media_store.fetch_media_by_ids(resources.db, [media_id])
    return record


async def read_variant(resources: Resources, key: str, tmp_path: Path) -> pyvips.Image:
    path = tmp_path / key.replace("/", "_")
    await resources.blobs.download(key, path)
    return pyvips.Image.new_from_file(str(path))


async def test_a_photo_becomes_ready_with_variants_metadata_and_no_exif(
    clean: Resources, settings: Settings, owner: UserRecord, tmp_path: Path
) -> None:
    media_id = await start_processing(
        clean, owner, media_fixtures.jpeg_with_exif(1600, 1200), "image/jpeg"
    )
    await run_worker_until_idle(settings)
    record = await load(clean, media_id)
    assert (record.status, record.width, record.height) == ("READY", 1600, 1200)
    assert [(v.name, v.width, v.height) for v in record.variants] == [
        ("thumb320", 320, 320),
        ("thumb160", 160, 160),
        ("1080", 1080, 810),
        ("750", 750, 562),
        ("640", 640, 480),
        ("480", 480, 360),
    ]
    assert record.moderation is not None
    assert record.moderation.startswith("open_nsfw: passed (")  # the default classifier
    assert record.blurhash is not None
    assert len(record.blurhash) == 28
    assert record.photo_metadata is not None
    assert record.photo_metadata["camera_make"] is not None
    assert record.photo_metadata["latitude"] is not None
    for variant in record.variants:
        assert variant.key == variant_key(record, variant.name)
        image = await read_variant(clean, variant.key, tmp_path)
        assert (image.width, image.height) == (variant.width, variant.height)
        fields = image.get_fields()
        assert not [f for f in fields if f.startswith(("exif", "xmp", "iptc", "icc"))], fields


async def test_processing_twice_overwrites_the_same_objects(
    clean: Resources, settings: Settings, owner: UserRecord
) -> None:
    media_id = await start_processing(clean, owner, media_fixtures.png_with_alpha(), "image/png")
    await run_worker_until_idle(settings)
    first = await load(clean, media_id)
    files_before = sorted(p.name for p in (settings.media_dir / "media" / str(media_id)).iterdir())
    await clean.db.execute("UPDATE media SET status = 'PROCESSING' WHERE id = $1", media_id)
    await clean.redis.enqueue_job("process_media", media_id, _job_id=f"rerun:{media_id}")
    await run_worker_until_idle(settings)
    second = await load(clean, media_id)
    files_after = sorted(p.name for p in (settings.media_dir / "media" / str(media_id)).iterdir())
    assert second.status == "READY"
    assert second.variants == first.variants
    assert files_after == files_before


@pytest.mark.parametrize(
    ("make", "content_type", "reason_part"),
    [
        (media_fixtures.bomb_png_header, "image/png", "pixels"),
        (media_fixtures.truncated_jpeg, "image/jpeg", ""),
    ],
)
async def test_hostile_images_end_rejected_with_a_reason(
    clean: Resources,
    settings: Settings,
    owner: UserRecord,
    make: Any,
    content_type: str,
    reason_part: str,
) -> None:
    media_id = await start_processing(clean, owner, make(), content_type)
    started = time.monotonic()
    await run_worker_until_idle(settings)
    record = await load(clean, media_id)
    assert record.status == "REJECTED"
    assert record.rejection_reason
    assert reason_part in record.rejection_reason
    assert record.variants == ()
    assert not (settings.media_dir / "media" / str(media_id)).exists()
    if reason_part == "pixels":
        # Generous (worker start-up included, on a busy machine; the check itself is ms), and
        # below the 20 s job timeout a decode of the bomb would run into.
        assert time.monotonic() - started < 15


async def test_a_video_gets_duration_dimensions_poster_renditions_and_hls(
    clean: Resources, settings: Settings, owner: UserRecord, tmp_path: Path
) -> None:
    clip = media_fixtures.mp4(320, 240, frames=24, rate=12, rotation=90)
    media_id = await start_processing(clean, owner, clip, "video/mp4")
    await run_worker_until_idle(settings)
    record = await load(clean, media_id)
    assert record.status == "READY", record.rejection_reason
    assert (record.width, record.height) == (240, 320)
    assert record.duration_seconds == pytest.approx(2.0, abs=0.1)
    assert record.processing_progress is None
    folder = f"media/{media_id}/{record.file_token}"
    # Smaller than the smallest rung (360 lines): one rendition at its own size, not upscaled.
    (rendition,) = record.renditions
    assert (rendition.key, rendition.width, rendition.height) == (
        f"{folder}/video/240p.mp4",
        240,
        320,
    )
    assert rendition.bitrate > 0
    assert record.playback_key == rendition.key  # videoUrl: the best MP4
    assert record.hls_keys == (
        f"{folder}/hls/master.m3u8",
        f"{folder}/hls/240p.m3u8",
        f"{folder}/hls/240p.mp4",
    )
    content_types = [(await clean.blobs.stat(key)) for key in (rendition.key, *record.hls_keys)]
    assert [stat.content_type if stat else None for stat in content_types] == [
        "video/mp4",
        "application/vnd.apple.mpegurl",
        "application/vnd.apple.mpegurl",
        "video/mp4",
    ]
    published = tmp_path / "published.mp4"
    await clean.blobs.download(rendition.key, published)
    with av.open(str(published)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == 24
    assert {(f.width, f.height, f.rotation, f.format.name) for f in frames} == {
        (240, 320, 0, "yuv420p")  # the rotation is in the pixels now
    }
    # The poster is 240 wide: no width variant is upscaled; the smallest width slot holds it as is.
    assert [(v.name, v.width, v.height) for v in record.variants] == [
        ("thumb320", 240, 240),
        ("thumb160", 160, 160),
        ("480", 240, 320),
    ]
    assert record.photo_metadata is None


CONTAINER_TYPES = {"mov": "video/quicktime", "mp4": "video/mp4"}
ENCODER_TRACES = ("Lavf", "Lavc", "x264", "FFmpeg", "ffmpeg")
"""Strings of the software that wrote a file (FFmpeg's encoder tag, x264's settings SEI)."""


def published_files(settings: Settings, media_id: int) -> list[str]:
    """The keys of every file stored under the media item's public prefix."""
    root = settings.media_dir
    return sorted(
        str(path.relative_to(root))
        for path in (root / "media" / str(media_id)).rglob("*")
        if path.is_file()
    )


def assert_no_metadata_in_mp4(path: Path, key: str) -> None:
    """Read a published MP4 back: brands only, default handler names, no creation time,
    location, timecode or rotation, and nothing naming the software."""
    with av.open(str(path)) as container:
        assert set(container.metadata) == {"major_brand", "minor_version", "compatible_brands"}
        assert [s.type for s in container.streams] == ["video", "audio"], key
        handlers = [s.metadata.get("handler_name") for s in container.streams]
        assert handlers == ["VideoHandler", "SoundHandler"], key
        assert not {"creation_time", "location", "timecode", "encoder"} & {
            tag for s in container.streams for tag in s.metadata
        }, key
        frame = next(container.decode(video=0))
        assert frame.rotation == 0, key  # upright in pixels, no display matrix
        assert (frame.width, frame.height) == (240, 320), key
    raw = path.read_bytes()
    assert [trace for trace in ENCODER_TRACES if trace.encode() in raw] == [], key
    atoms = [b"\xa9xyz", b"\xa9too", b"\xa9mak", b"\xa9mod", b"\xa9day", b"mdta", b"tmcd"]
    assert [atom for atom in atoms if atom in raw] == [], key


@pytest.mark.parametrize("container_format", ["mov", "mp4"])
async def test_a_phone_video_is_published_without_its_place_device_or_time(
    clean: Resources, settings: Settings, owner: UserRecord, tmp_path: Path, container_format: str
) -> None:
    clip = media_fixtures.phone_video(container_format)
    content_type = CONTAINER_TYPES[container_format]
    media_id = await start_processing(clean, owner, clip, content_type)
    await run_worker_until_idle(settings)
    record = await load(clean, media_id)
    assert record.status == "READY", record.rejection_reason
    assert record.playback_key is not None

    # The owner keeps camera, time and place, as for a photo.
    assert record.photo_metadata == {
        "camera_make": media_fixtures.PHONE_MAKE,
        "camera_model": media_fixtures.PHONE_MODEL,
        "taken_at": "2023-07-14T18:30:05+02:00",
        "latitude": media_fixtures.PHONE_LATITUDE,
        "longitude": media_fixtures.PHONE_LONGITUDE,
    }
    # Every published file of the media: renditions, HLS playlists and fragmented MP4s, the
    # poster's variants. Each one is read back.
    keys = published_files(settings, media_id)
    renditions = [rendition.key for rendition in record.renditions]
    assert keys == sorted([*renditions, *record.hls_keys, *(v.key for v in record.variants)])
    assert len(keys) == 1 + 3 + 3  # a rendition; master + media playlist + fMP4; 3 images
    for key in keys:
        path = tmp_path / key.replace("/", "_")
        await clean.blobs.download(key, path)
        raw = path.read_bytes()
        leaked = [s for s in media_fixtures.PHONE_SECRETS if s.encode() in raw]
        assert leaked == [], key
        if key.endswith(".mp4"):
            assert_no_metadata_in_mp4(path, key)
        elif key.endswith(".m3u8"):
            text = raw.decode("ascii")
            assert all(
                line.startswith(("#EXT", "240p.")) or line == "" for line in text.split("\n")
            ), text
        else:
            fields = pyvips.Image.new_from_file(str(path)).get_fields()
            assert not [f for f in fields if f.startswith(("exif", "xmp", "iptc", "icc"))], key
    # The original stays private: outside media/, never given a public URL.
    assert record.original_key is not None
    assert record.original_key.startswith("uploads/")
    with pytest.raises(InvalidBlobKeyError):
        clean.blobs.public_url(record.original_key)


class StorageDown:
    """A blob store whose reads fail as during an outage."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def download(self, key: str, destination: Path) -> None:
        raise BlobStoreUnavailableError("connection reset")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def processing_deps(resources: Resources, **changes: Any) -> ProcessingDeps:
    deps = ProcessingDeps(
        db=resources.db,
        redis=resources.redis,
        blobs=resources.blobs,
        moderator=NoModeration(),
        limits=ProcessingLimits(
            max_pixels=100_000_000, max_video_seconds=60, time_limit_seconds=20
        ),
        cpu_slots=asyncio.Semaphore(1),
        publishing=resources.posts,
    )
    return dataclasses.replace(deps, **changes)


async def test_storage_outage_retries_then_fails_on_the_last_try(
    clean: Resources, owner: UserRecord
) -> None:
    media_id = await start_processing(clean, owner, media_fixtures.jpeg_with_exif(), "image/jpeg")
    deps = processing_deps(clean, blobs=StorageDown(clean.blobs))
    with pytest.raises(TransientProcessingError):
        await media_processing.process_media(deps, media_id, last_try=False)
    assert (await load(clean, media_id)).status == "PROCESSING"
    outcome = await media_processing.process_media(deps, media_id, last_try=True)
    assert outcome is not None
    assert outcome.status == "FAILED"
    assert outcome.rejection_reason == "storage unavailable; upload again"


async def test_a_vanished_original_fails_at_once(clean: Resources, owner: UserRecord) -> None:
    media_id = await start_processing(clean, owner, media_fixtures.jpeg_with_exif(), "image/jpeg")
    await clean.blobs.delete([media_processing.original_key(await load(clean, media_id))])
    outcome = await media_processing.process_media(processing_deps(clean), media_id, last_try=False)
    assert outcome is not None
    assert (outcome.status, outcome.rejection_reason) == (
        "FAILED",
        "the uploaded file is gone; upload again",
    )


async def test_the_job_turns_a_storage_outage_into_a_deferred_retry(
    clean: Resources, owner: UserRecord
) -> None:
    from arq import Retry

    media_id = await start_processing(clean, owner, media_fixtures.jpeg_with_exif(), "image/jpeg")
    ctx = {
        "processing": processing_deps(clean, blobs=StorageDown(clean.blobs)),
        "resources": clean,
        "job_try": 1,
    }
    with pytest.raises(Retry) as retry:
        await jobs.process_media(ctx, media_id)
    assert retry.value.defer_score == 2000
    assert (await load(clean, media_id)).status == "PROCESSING"


async def test_the_sweeper_requeues_stale_media_then_gives_up(
    clean: Resources, owner: UserRecord
) -> None:
    media_id = await start_processing(clean, owner, media_fixtures.jpeg_with_exif(), "image/jpeg")
    await clean.redis.delete("arq:queue")  # the job was lost (say, Redis restarted without AOF)
    deps = processing_deps(clean)
    stale = "UPDATE media SET updated_at = now() - interval '1 hour' WHERE id = $1"
    from datetime import timedelta

    for sweep in (1, 2):
        await clean.db.execute(stale, media_id)
        handled = await media_processing.sweep_stale_media(
            deps, clean.redis, stale_after=timedelta(minutes=10), max_sweeps=2
        )
        assert handled == 1
        assert [job.job_id for job in await clean.redis.queued_jobs()][-1] == (
            f"process_media:{media_id}:sweep{sweep}"
        )
    # Fresh rows are left alone.
    assert (
        await media_processing.sweep_stale_media(
            deps, clean.redis, stale_after=timedelta(minutes=10), max_sweeps=2
        )
        == 0
    )
    await clean.db.execute(stale, media_id)
    await media_processing.sweep_stale_media(
        deps, clean.redis, stale_after=timedelta(minutes=10), max_sweeps=2
    )
    record = await load(clean, media_id)
    assert (record.status, record.rejection_reason) == (
        "FAILED",
        "processing did not finish after several tries",
    )
