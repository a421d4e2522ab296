"""Draining an in-process worker whose job outlives the grace: the job is cancelled (arq returns
it to the queue) and the worker closes fully, its shutdown hook included, without raising."""

from __future__ import annotations

import asyncio
from typing import Any

from arq.connections import ArqRedis, RedisSettings
from arq.worker import Worker, func

from settings import Settings
from workers import drain


async def test_a_job_that_outlives_the_grace_is_cancelled_and_the_worker_closes(
    settings: Settings, queue: ArqRedis
) -> None:
    started = asyncio.Event()
    shut_down = asyncio.Event()

    async def endless(_ctx: dict[str, Any]) -> None:
        started.set()
        await asyncio.Event().wait()  # until cancelled

    async def on_shutdown(_ctx: dict[str, Any]) -> None:
        shut_down.set()

    assert settings.redis_url
    worker = Worker(
        functions=[func(endless, name="endless")],
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        handle_signals=False,
        on_shutdown=on_shutdown,
        poll_delay=0.01,
    )
    await queue.enqueue_job("endless", _job_id="endless-1")
    running = asyncio.create_task(worker.async_run())
    async with asyncio.timeout(20):
        await started.wait()

    async with asyncio.timeout(20):
        await drain(worker, grace_seconds=0.05)  # raised CancelledError out of arq's close

    assert shut_down.is_set()
    await asyncio.gather(running, return_exceptions=True)
    assert running.done()
