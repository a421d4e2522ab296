"""Known-bad images and classifier flags in the media pipeline (docs/moderation.md): a photo or
video keyframe within the PDQ threshold of a blocklist entry ends REJECTED with a generic reason
and opens a KNOWN_IMAGE case; a classifier flag opens a CLASSIFIER case that hides the media
pending review; everything else is published as before."""

from __future__ import annotations

import dataclasses
import io
from fractions import Fraction

import asyncpg
import av
import numpy as np
import pytest
import pyvips
from av.video.stream import VideoStream

from media.pdq import hamming_distance, hash_encoded
from resources import Resources
from services import media_processing
from services.known_images import REJECTION_REASON, Blocklist
from services.moderation import Verdict
from settings import Settings
from storage.pg import known_images as known_store
from storage.pg.users import UserRecord
from tests.conftest import run_worker_until_idle
from tests.factories import make_user
from tests.workers.test_process_media import load, processing_deps, start_processing


@pytest.fixture
async def owner(clean: Resources) -> UserRecord:
    return await make_user(clean.db, "owner")


def pattern(seed: int, width: int = 1600, height: int = 1200) -> pyvips.Image:
    """A smooth random picture (blobs of colour): rich enough for a high-quality PDQ hash, and
    unrelated to the picture of any other seed."""
    cells = np.random.default_rng(seed).integers(0, 256, size=(24, 32, 3), dtype=np.uint8)
    small = pyvips.Image.new_from_memory(cells.tobytes(), 32, 24, 3, "uchar")
    return small.resize(width / 32, vscale=height / 24, kernel="cubic").copy(interpretation="srgb")


def jpeg(image: pyvips.Image, quality: int = 90) -> bytes:
    data: bytes = image.jpegsave_buffer(Q=quality)
    return data


def two_scene_video(first: pyvips.Image, second: pyvips.Image, *, seconds: int = 4) -> bytes:
    """An H.264 MP4: `first` for the first half, `second` for the rest, a keyframe each second
    (as phones write them)."""
    rate = 12
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=rate)
        assert isinstance(stream, VideoStream)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.codec_context.gop_size = rate
        stream.codec_context.options = {"preset": "ultrafast"}
        scenes = [
            av.VideoFrame.from_ndarray(_rgb(image.thumbnail_image(320, height=240, size="force")))
            for image in (first, second)
        ]
        for index in range(seconds * rate):
            frame = scenes[0 if index < seconds * rate // 2 else 1].reformat(format="yuv420p")
            frame.pts = index
            frame.time_base = Fraction(1, rate)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def _rgb(image: pyvips.Image) -> np.ndarray:
    return np.ndarray(
        buffer=image.write_to_memory(), dtype=np.uint8, shape=(image.height, image.width, 3)
    )


async def block(db: asyncpg.Pool, picture: bytes, source: str = "test-list") -> int:
    (entry_id,) = await known_store.insert_entries(
        db, [hash_encoded(picture).value], source=source, added_by=None
    )
    return entry_id


async def cases(db: asyncpg.Pool) -> list[tuple[object, ...]]:
    rows = await db.fetch(
        """
        SELECT c.subject_kind, c.subject_id, c.sources, c.hidden_pending_review, f.source, f.detail
          FROM moderation_cases c JOIN moderation_findings f ON f.case_id = c.id
         ORDER BY c.subject_id, f.id
        """
    )
    return [tuple(row) for row in rows]


async def test_a_listed_photo_and_an_altered_copy_are_rejected_and_open_cases(
    clean: Resources, settings: Settings, owner: UserRecord
) -> None:
    original = pattern(1)
    entry_id = await block(clean.db, jpeg(original))
    altered = jpeg(original.resize(0.6), quality=45)  # resized and recompressed
    listed = hash_encoded(jpeg(original)).value
    assert pyvips.Image.new_from_buffer(altered, "").width == 960
    same = await start_processing(clean, owner, jpeg(original), "image/jpeg")
    copy = await start_processing(clean, owner, altered, "image/jpeg")

    await run_worker_until_idle(settings)  # the real worker, its blocklist and classifier

    for media_id in (same, copy):
        record = await load(clean, media_id)
        assert (record.status, record.rejection_reason) == ("REJECTED", REJECTION_REASON)
        assert record.variants == ()
        assert not (settings.media_dir / "media" / str(media_id)).exists()
    found = await cases(clean.db)
    assert [row[:5] for row in found] == [
        ("MEDIA", same, ["KNOWN_IMAGE"], False, "KNOWN_IMAGE"),
        ("MEDIA", copy, ["KNOWN_IMAGE"], False, "KNOWN_IMAGE"),
    ]
    for (*_, detail), media_id in zip(found, (same, copy), strict=True):
        (stored,) = await known_store.fetch_media_hashes(clean.db, media_id)
        assert stored.frame == 0
        assert stored.quality >= 50
        distance = hamming_distance(stored.hash, listed)
        assert distance <= 31
        assert detail == (
            f"PDQ distance {distance} (of 256 bits) between the picture and blocklist entry "
            f"{entry_id} (source: test-list)"
        )


async def test_an_unrelated_photo_is_published_and_its_hash_kept(
    clean: Resources, settings: Settings, owner: UserRecord
) -> None:
    await block(clean.db, jpeg(pattern(1)))
    media_id = await start_processing(clean, owner, jpeg(pattern(2)), "image/jpeg")

    await run_worker_until_idle(settings)

    record = await load(clean, media_id)
    assert (record.status, record.rejection_reason, record.moderation_state) == (
        "READY",
        None,
        None,
    )
    assert record.moderation is not None
    assert record.moderation.startswith("open_nsfw: passed")
    assert await cases(clean.db) == []
    (stored,) = await known_store.fetch_media_hashes(clean.db, media_id)
    assert stored.hash == hash_encoded(jpeg(pattern(2))).value


async def test_an_entry_added_after_the_index_was_built_is_matched_at_once(
    clean: Resources, owner: UserRecord
) -> None:
    deps = processing_deps(clean, blocklist=Blocklist())
    first = await start_processing(clean, owner, jpeg(pattern(3)), "image/jpeg")
    passed = await media_processing.process_media(deps, first, last_try=False)
    assert passed is not None
    assert passed.status == "READY"

    await block(clean.db, jpeg(pattern(4)))  # as another process would
    second = await start_processing(clean, owner, jpeg(pattern(4)), "image/jpeg")
    rejected = await media_processing.process_media(deps, second, last_try=False)
    assert rejected is not None
    assert rejected.status == "REJECTED"

    removed = await known_store.delete_entries(
        clean.db, [entry.id for entry in await _entries(clean.db)]
    )
    assert len(removed) == 1
    third = await start_processing(clean, owner, jpeg(pattern(4)), "image/jpeg")
    after_removal = await media_processing.process_media(deps, third, last_try=False)
    assert after_removal is not None
    assert after_removal.status == "READY"


async def _entries(db: asyncpg.Pool) -> list[known_store.KnownImageEntry]:
    ids = [row["id"] for row in await db.fetch("SELECT id FROM known_images")]
    return await known_store.fetch_entries(db, ids)


async def test_a_video_whose_later_keyframe_is_listed_is_rejected(
    clean: Resources, owner: UserRecord
) -> None:
    poster_scene, listed_scene = pattern(5, 640, 480), pattern(6, 640, 480)
    entry_id = await block(clean.db, jpeg(listed_scene))
    video = two_scene_video(poster_scene, listed_scene)
    media_id = await start_processing(clean, owner, video, "video/mp4")

    outcome = await media_processing.process_media(
        processing_deps(clean, blocklist=Blocklist()), media_id, last_try=False
    )

    assert outcome is not None
    assert (outcome.status, outcome.rejection_reason, outcome.playback_key) == (
        "REJECTED",
        REJECTION_REASON,
        None,
    )
    ((kind, subject, sources, hidden, source, detail),) = await cases(clean.db)
    assert (kind, subject, sources, hidden, source) == (
        "MEDIA",
        media_id,
        ["KNOWN_IMAGE"],
        False,
        "KNOWN_IMAGE",
    )
    assert "video keyframe" in detail
    assert f"blocklist entry {entry_id} (source: test-list)" in detail
    stored = await known_store.fetch_media_hashes(clean.db, media_id)
    assert [item.frame for item in stored] == [0, 1, 2, 3, 4]
    poster = hash_encoded(jpeg(poster_scene)).value
    assert hamming_distance(stored[0].hash, poster) <= 31  # frame 0: the poster, not listed


async def test_the_same_video_without_a_listed_scene_is_published(
    clean: Resources, owner: UserRecord
) -> None:
    await block(clean.db, jpeg(pattern(6, 640, 480)))
    video = two_scene_video(pattern(5, 640, 480), pattern(7, 640, 480))
    media_id = await start_processing(clean, owner, video, "video/mp4")

    outcome = await media_processing.process_media(
        processing_deps(clean, blocklist=Blocklist()), media_id, last_try=False
    )

    assert outcome is not None
    assert outcome.status == "READY"
    assert await cases(clean.db) == []


class FlagEverything:
    """A classifier that flags every picture (the seam: services.moderation.Moderator)."""

    def __init__(self) -> None:
        self.checked = 0

    async def check(self, jpeg: bytes) -> Verdict:
        assert jpeg.startswith(b"\xff\xd8")
        self.checked += 1
        return Verdict(flagged=True, summary="test classifier: 0.99 NSFW")


async def test_a_flagged_photo_is_published_hidden_pending_review_with_a_case(
    clean: Resources, owner: UserRecord
) -> None:
    classifier = FlagEverything()
    media_id = await start_processing(clean, owner, jpeg(pattern(8)), "image/jpeg")

    outcome = await media_processing.process_media(
        processing_deps(clean, moderator=classifier), media_id, last_try=False
    )

    assert outcome is not None
    assert (outcome.status, outcome.moderation, outcome.moderation_state) == (
        "READY",
        "test classifier: 0.99 NSFW",
        "HIDDEN_PENDING_REVIEW",
    )
    assert classifier.checked == 1
    assert await cases(clean.db) == [
        (
            "MEDIA",
            media_id,
            ["CLASSIFIER"],
            True,
            "CLASSIFIER",
            "classifier flagged it: test classifier: 0.99 NSFW",
        )
    ]


async def test_a_listed_picture_is_rejected_before_the_classifier_runs(
    clean: Resources, owner: UserRecord
) -> None:
    classifier = FlagEverything()
    await block(clean.db, jpeg(pattern(9)))
    media_id = await start_processing(clean, owner, jpeg(pattern(9)), "image/jpeg")

    outcome = await media_processing.process_media(
        dataclasses.replace(processing_deps(clean, moderator=classifier)), media_id, last_try=False
    )

    assert outcome is not None
    assert outcome.status == "REJECTED"
    assert classifier.checked == 0
    assert [row[4] for row in await cases(clean.db)] == ["KNOWN_IMAGE"]


async def test_a_flat_picture_is_not_matched_whatever_the_list(
    clean: Resources, owner: UserRecord
) -> None:
    grey = pyvips.Image.black(800, 600, bands=3).new_from_image([128, 128, 128])
    grey_jpeg = jpeg(grey.copy(interpretation="srgb"))
    assert hash_encoded(grey_jpeg).quality < 50
    await block(clean.db, grey_jpeg)
    media_id = await start_processing(clean, owner, grey_jpeg, "image/jpeg")

    outcome = await media_processing.process_media(
        processing_deps(clean, blocklist=Blocklist()), media_id, last_try=False
    )

    assert outcome is not None
    assert outcome.status == "READY"
