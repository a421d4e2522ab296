"""A worker process killed in the middle of its jobs (a photo's decode and a video's transcode):
another worker completes both media."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pyvips

from resources import Resources
from settings import Settings
from storage import redis_keys
from storage.pg import media as media_store
from storage.pg.media import MediaRecord
from tests import media_fixtures
from tests.conftest import run_worker_until_idle
from tests.factories import make_user
from tests.workers.test_process_media import start_processing

ROOT = Path(__file__).resolve().parents[2]


def slow_png() -> bytes:
    """A 96-megapixel PNG: PNG has no shrink-on-load, so decoding it takes most of a second."""
    ramp = pyvips.Image.xyz(12_000, 8_000)[0].cast("uchar")
    data: bytes = ramp.bandjoin([ramp, ramp]).pngsave_buffer(compression=1)
    return data


async def fetched(resources: Resources, *ids: int) -> list[MediaRecord]:
    found = {m.id: m for m in await media_store.fetch_media_by_ids(resources.db, ids)}
    return [found[media_id] for media_id in ids]


async def test_a_killed_worker_leaves_media_another_worker_completes(
    clean: Resources, settings: Settings
) -> None:
    owner = await make_user(clean.db, "owner")
    clip = media_fixtures.clip(640, 480, seconds=4)
    env = os.environ | {
        "DATABASE_URL": str(settings.database_url),
        "REDIS_URL": str(settings.redis_url),
        "SHUTTER_DATA_DIR": str(settings.data_dir),
        "SECRET_KEY": str(settings.secret_key),
        # arq hands a dead worker's job over after (its longest job timeout + 10 s); a media
        # job's is the photo limit plus the transcode limit (+ 5 s): both short here.
        "MEDIA_JOB_TIMEOUT_SECONDS": "4",
        "VIDEO_TRANSCODE_TIMEOUT_SECONDS": "4",
        "MEDIA_PROCESSING_CONCURRENCY": "2",
        # The first progress event says the transcode is under way.
        "VIDEO_PROGRESS_INTERVAL_SECONDS": "0.05",
    }
    async with clean.redis.pubsub() as pubsub:
        await pubsub.subscribe(redis_keys.user_events_channel(owner.id))
        video_id = await start_processing(clean, owner, clip, "video/mp4")
        photo_id = await start_processing(clean, owner, slow_png(), "image/png")
        worker = subprocess.Popen(  # noqa: ASYNC220 (a real process to kill is the point)
            [sys.executable, "-m", "cli", "worker"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            photo_started = f"arq:in-progress:process_media:{photo_id}"
            transcoding = False
            deadline = time.monotonic() + 60
            while not (transcoding and await clean.redis.exists(photo_started)):
                assert time.monotonic() < deadline, "the worker never started both jobs"
                assert worker.poll() is None, "the worker exited"
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.05)
                if message is not None:
                    event = orjson.loads(message["data"])
                    transcoding |= event["media_id"] == video_id and "progress" in event
            # Both jobs are taken (arq's in-progress keys) and the video is mid-transcode:
            # killing now leaves both to another worker.
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
        finally:
            if worker.poll() is None:
                worker.kill()
    photo, video = await fetched(clean, photo_id, video_id)
    assert (photo.status, video.status) == ("PROCESSING", "PROCESSING"), (
        "a job finished before the kill: nothing was tested"
    )
    assert video.processing_progress is not None

    await run_worker_until_idle(settings)
    photo, video = await fetched(clean, photo_id, video_id)
    assert photo.status == "READY"
    names = [v.name for v in photo.variants]
    assert names == ["thumb320", "thumb160", "1080", "750", "640", "480"]
    assert video.status == "READY"
    assert video.processing_progress is None
    assert [(r.width, r.height) for r in video.renditions] == [(640, 480), (480, 360)]
    assert video.hls_keys[0].endswith("/hls/master.m3u8")
