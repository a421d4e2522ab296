"""A worker process killed in the middle of a job: another worker completes the media."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyvips

from resources import Resources
from settings import Settings
from storage.pg import media as media_store
from tests.conftest import run_worker_until_idle
from tests.factories import make_user
from tests.workers.test_process_media import start_processing

ROOT = Path(__file__).resolve().parents[2]


def slow_png() -> bytes:
    """A 96-megapixel PNG: PNG has no shrink-on-load, so decoding it takes most of a second."""
    ramp = pyvips.Image.xyz(12_000, 8_000)[0].cast("uchar")
    data: bytes = ramp.bandjoin([ramp, ramp]).pngsave_buffer(compression=1)
    return data


async def test_a_killed_worker_leaves_media_another_worker_completes(
    clean: Resources, settings: Settings
) -> None:
    owner = await make_user(clean.db, "owner")
    media_id = await start_processing(clean, owner, slow_png(), "image/png")
    env = os.environ | {
        "DATABASE_URL": str(settings.database_url),
        "REDIS_URL": str(settings.redis_url),
        "SHUTTER_DATA_DIR": str(settings.data_dir),
        "SECRET_KEY": str(settings.secret_key),
        # Short limits: arq hands a dead worker's job over after (longest timeout + 10 s).
        "MEDIA_JOB_TIMEOUT_SECONDS": "2",
    }
    worker = subprocess.Popen(  # noqa: ASYNC220 (a real process to kill is the point)
        [sys.executable, "-m", "cli", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        in_progress = f"arq:in-progress:process_media:{media_id}"
        deadline = time.monotonic() + 30
        while not await clean.redis.exists(in_progress):
            assert time.monotonic() < deadline, "the worker never started the job"
            assert worker.poll() is None, "the worker exited"
            await asyncio.sleep(0.02)
        # The job is taken (arq's in-progress key): killing now leaves it to another worker.
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    (record,) = await media_store.fetch_media_by_ids(clean.db, [media_id])
    assert record.status == "PROCESSING", "the job finished before the kill: nothing was tested"

    await run_worker_until_idle(settings)
    (record,) = await media_store.fetch_media_by_ids(clean.db, [media_id])
    assert record.status == "READY"
    names = [v.name for v in record.variants]
    assert names == ["thumb320", "thumb160", "1080", "750", "640", "480"]
