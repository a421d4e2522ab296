"""The in-process worker of `shutter run` outlives a Redis restart: arq's worker dies with its
connection, and the supervisor starts a new one that runs the jobs queued meanwhile."""

from __future__ import annotations

import asyncio
from pathlib import Path

from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.jobs import Job, JobStatus

from settings import Settings
from storage import jobs
from storage.embedded import start_valkey
from workers.supervisor import WorkerSupervisor


async def wait_until_complete(queue: ArqRedis, job_id: str) -> None:
    """Wait (at most 20 s) for the job's result; fails if it never runs."""
    await Job(job_id, queue).result(timeout=20, poll_delay=0.05)
    assert await Job(job_id, queue).status() == JobStatus.complete


async def test_the_worker_comes_back_after_redis_restarts(
    settings: Settings, tmp_path: Path
) -> None:
    valkey = start_valkey(tmp_path / "valkey", persist=True)
    port = int(valkey.url.rsplit(":", 1)[1].split("/")[0])
    supervisor = WorkerSupervisor(settings.model_copy(update={"redis_url": valkey.url}))
    running = asyncio.create_task(supervisor.run())
    try:
        queue = await create_pool(RedisSettings.from_dsn(valkey.url))
        # A fan-out of a post that does not exist: a real job that ends at once.
        assert await jobs.enqueue_fan_out_post(queue, 10**9)
        await wait_until_complete(queue, f"{jobs.FAN_OUT_POST}:{10**9}")
        await queue.aclose()

        valkey.stop()
        # The running worker hits the closed connection and dies; the supervisor notices.
        async with asyncio.timeout(20):
            while True:
                if supervisor.restarts >= 1:
                    break
                await asyncio.sleep(0.02)
        valkey = start_valkey(tmp_path / "valkey", persist=True, port=port)

        queue = await create_pool(RedisSettings.from_dsn(valkey.url))
        assert await jobs.enqueue_fan_out_post(queue, 10**9 + 1)
        await wait_until_complete(queue, f"{jobs.FAN_OUT_POST}:{10**9 + 1}")
        await queue.aclose()
        assert supervisor.restarts >= 1
        assert not running.done()
    finally:
        await supervisor.stop(grace_seconds=1.0)
        await asyncio.wait_for(running, 10)
        valkey.stop()
