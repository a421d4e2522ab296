"""Hostile and oversized videos end REJECTED fast with a reason (nothing published, no crash);
a transcode past its time limit fails cleanly; a long transcode reports its progress."""

from __future__ import annotations

import dataclasses
import io
import struct
import time
from collections.abc import Callable
from pathlib import Path

import av
import orjson
import pytest

from media.images import RejectedMediaError
from media.video import probe_video
from resources import Resources
from services import media_processing
from settings import Settings
from storage import redis_keys
from storage.pg import media as media_store
from storage.pg.users import UserRecord
from tests import media_fixtures
from tests.factories import make_user
from tests.workers.test_process_media import (
    load,
    processing_deps,
    published_files,
    start_processing,
)


@pytest.fixture
async def owner(clean: Resources) -> UserRecord:
    return await make_user(clean.db, "owner")


def patch_box_field(data: bytes, box: bytes, offset: int, fmt: str, value: int) -> bytes:
    """`data` with the field at `offset` bytes into every `box` payload set to `value`."""
    patched = bytearray(data)
    at = 0
    while (at := patched.find(box, at)) >= 0:
        struct.pack_into(fmt, patched, at + 4 + offset, value)
        at += 4
    return bytes(patched)


def frames_lasting(data: bytes, ticks: int) -> bytes:
    """The clip with every sample's duration (the first stts entry of each track) set to
    `ticks`: the timestamps, hence the duration FFmpeg reports, become absurd."""
    return patch_box_field(data, b"stts", 12, ">I", ticks)


def truncated_faststart(tmp_path: Path, fraction: float = 0.6) -> bytes:
    """A clip whose index (moov) comes first, cut short: the header promises 2 s of pictures."""
    data = media_fixtures.clip(320, 240)
    # Put moov ahead of mdat as faststart does: the fixture writer puts it at the end.
    faststart = tmp_path / "faststart.mp4"  # faststart rewrites the file: a real one
    with (
        av.open(io.BytesIO(data), mode="r") as source,
        av.open(str(faststart), "w", format="mp4", options={"movflags": "+faststart"}) as target,
    ):
        streams = {s.index: target.add_stream_from_template(s) for s in source.streams}
        for packet in source.demux():
            if packet.dts is None:
                continue
            packet.stream = streams[packet.stream.index]
            target.mux(packet)
    whole = faststart.read_bytes()
    assert whole.index(b"moov") < whole.index(b"mdat")
    return whole[: int(len(whole) * fraction)]


def audio_only() -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("aac", rate=8000)
        frame = av.AudioFrame(format="fltp", layout="mono", samples=1024)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.sample_rate, frame.pts = 8000, 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()


HOSTILE: dict[str, tuple[Callable[[Path], bytes], str]] = {
    "truncated": (
        truncated_faststart,
        "video is truncated: its pictures end at 0.",
    ),
    "zero-length-stream": (
        lambda _: frames_lasting(media_fixtures.clip(160, 120, audio=False), 0),
        "video is truncated: its pictures end at 0.0 s of the 2.0 s its header declares",
    ),
    "absurd-duration": (
        lambda _: frames_lasting(media_fixtures.clip(160, 120, audio=False), 2**31 - 1),
        "video timestamps run past the duration it declares",
    ),
    "audio-only": (lambda _: audio_only(), "file has no video stream"),
    "too-many-frames-per-second": (
        lambda _: media_fixtures.clip(160, 120, rate=60, seconds=0.5),
        "video is 60 frames per second; the limit is 50",
    ),
    "too-large": (lambda _: media_fixtures.clip(320, 240, seconds=4), "video is "),
}


@pytest.mark.parametrize("case", list(HOSTILE))
async def test_hostile_videos_end_rejected_with_a_reason_and_publish_nothing(
    clean: Resources,
    settings: Settings,
    owner: UserRecord,
    case: str,
    tmp_path: Path,
) -> None:
    make, reason = HOSTILE[case]
    data = make(tmp_path)
    media_id = await start_processing(clean, owner, data, "video/mp4")
    limits = dataclasses.replace(
        processing_deps(clean).limits,
        max_video_seconds=90,
        max_video_frame_rate=50,
        max_video_bytes=len(data) - 1 if case == "too-large" else 10**9,
    )
    started = time.monotonic()

    outcome = await media_processing.process_media(
        processing_deps(clean, limits=limits), media_id, last_try=False
    )

    assert outcome is not None
    assert outcome.status == "REJECTED"
    assert outcome.rejection_reason is not None
    assert outcome.rejection_reason.startswith(reason), outcome.rejection_reason
    if case == "too-large":
        assert (
            outcome.rejection_reason == f"video is {len(data)} bytes; the limit is {len(data) - 1}"
        )
    assert (outcome.renditions, outcome.hls_keys, outcome.playback_key) == ((), (), None)
    assert outcome.processing_progress is None
    assert published_files(settings, media_id) == []
    assert time.monotonic() - started < 5  # refused early, not after a full decode


def test_the_pixel_limit_is_read_from_the_header_before_ffmpeg_opens_the_file(
    tmp_path: Path,
) -> None:
    """The sample description claims 20000 x 20000: refused from the boxes alone (FFmpeg,
    which decodes a frame when it opens a file, is never reached)."""
    data = media_fixtures.clip(320, 240, audio=False)
    at = (
        data.index(b"avc1", data.index(b"stsd")) + 4 + 24
    )  # the visual sample entry's width and height
    assert struct.unpack_from(">HH", data, at) == (320, 240)
    patched = bytearray(data)
    struct.pack_into(">HH", patched, at, 20_000, 20_000)
    path = tmp_path / "bomb.mp4"
    path.write_bytes(bytes(patched))

    with pytest.raises(RejectedMediaError) as caught:
        probe_video(path, max_pixels=4096 * 2304)

    assert caught.value.reason == "video is 400000000 pixels; the limit is 9437184"


async def test_a_transcode_past_its_time_limit_fails_cleanly(
    clean: Resources,
    settings: Settings,
    owner: UserRecord,
) -> None:
    media_id = await start_processing(clean, owner, media_fixtures.clip(640, 480), "video/mp4")
    limits = dataclasses.replace(processing_deps(clean).limits, video_time_limit_seconds=0.0)

    outcome = await media_processing.process_media(
        processing_deps(clean, limits=limits), media_id, last_try=False
    )

    assert outcome is not None
    assert (outcome.status, outcome.rejection_reason) == (
        "REJECTED",
        "transcoding took longer than 0 s",
    )
    assert published_files(settings, media_id) == []
    # The run is over: nothing is still writing for this media.
    assert (await load(clean, media_id)).status == "REJECTED"


async def test_a_transcode_reports_its_progress_then_the_final_status(
    clean: Resources,
    owner: UserRecord,
) -> None:
    media_id = await start_processing(
        clean, owner, media_fixtures.clip(480, 360, seconds=4), "video/mp4"
    )
    limits = dataclasses.replace(processing_deps(clean).limits, progress_interval_seconds=0.05)
    channel = redis_keys.user_events_channel(owner.id)
    events: list[dict[str, object]] = []
    async with clean.redis.pubsub() as pubsub:
        await pubsub.subscribe(channel)
        outcome = await media_processing.process_media(
            processing_deps(clean, limits=limits), media_id, last_try=False
        )
        while not events or events[-1].get("status") != "READY":
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5)
            if message is not None:
                events.append(orjson.loads(message["data"]))
    assert outcome is not None
    assert outcome.status == "READY"
    progress = [event["progress"] for event in events if "progress" in event]
    fractions = [p for p in progress if isinstance(p, float) and 0 < p <= 1]
    assert progress, events
    assert fractions == progress
    assert fractions == sorted(fractions)
    assert all(event["media_id"] == media_id for event in events)
    assert events[-1] == {"type": "media_status", "media_id": media_id, "status": "READY"}
    assert outcome.processing_progress is None


async def test_progress_is_stored_only_while_processing(
    clean: Resources,
    owner: UserRecord,
) -> None:
    media_id = await start_processing(clean, owner, media_fixtures.clip(160, 120), "video/mp4")
    assert await media_store.record_progress(clean.db, media_id, 0.25)
    assert (await load(clean, media_id)).processing_progress == 0.25
    await media_processing.fail_media(processing_deps(clean), media_id, "test")
    assert not await media_store.record_progress(clean.db, media_id, 0.5)
    assert (await load(clean, media_id)).processing_progress is None
