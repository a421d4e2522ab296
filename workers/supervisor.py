"""Keeps an in-process arq worker running across Redis outages.

arq's worker stops for good when its Redis connection fails (its poll loop raises, and nothing
reconnects), which would leave `shutter run` serving requests while nobody runs their jobs. The
supervisor starts a fresh worker (new connections, new resources) after a backoff instead, until
it is told to stop. Jobs are not lost meanwhile: they wait in Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from arq.worker import Worker
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from settings import Settings
from workers import build_worker, drain

log = logging.getLogger(__name__)

RESTART_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0)
HEALTHY_AFTER_SECONDS = 30.0
"""A worker that ran this long before failing restarts from the shortest delay again."""
REDIS_OUTAGE = (RedisConnectionError, RedisTimeoutError, OSError)


class WorkerSupervisor:
    """Runs one worker at a time (handle_signals off: the owner stops it with `stop`)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._current: Worker | None = None
        self._stopping = asyncio.Event()
        self.restarts = 0

    async def run(self) -> None:
        """Run workers until `stop`. Side effects: each worker opens its own resources (and
        closes them when it fails); a lost Redis connection is logged, then retried."""
        loop = asyncio.get_running_loop()
        attempt = 0
        while not self._stopping.is_set():
            worker = build_worker(self._settings, handle_signals=False)
            self._current = worker
            started = loop.time()
            try:
                await worker.async_run()
                return
            except asyncio.CancelledError:
                if self._stopping.is_set():  # `stop` drained the worker, which cancels it
                    return
                raise
            except REDIS_OUTAGE as error:
                if self._stopping.is_set():
                    return
                await _discard(worker)
                attempt = 1 if loop.time() - started > HEALTHY_AFTER_SECONDS else attempt + 1
                delay = RESTART_DELAYS[min(attempt, len(RESTART_DELAYS)) - 1]
                log.warning("the worker lost Redis (%s); a new one starts in %.1fs", error, delay)
                self.restarts += 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)

    async def stop(self, grace_seconds: float) -> None:
        """Stop: the running worker takes no new job and its running jobs get `grace_seconds`
        (see workers.drain); no new worker starts."""
        self._stopping.set()
        worker = self._current
        if worker is not None and worker.main_task is not None and not worker.main_task.done():
            try:
                await drain(worker, grace_seconds)
            except REDIS_OUTAGE as error:  # Redis went first (e.g. the same SIGTERM stopped it)
                log.warning("Redis was gone when the worker stopped (%s)", error)
                await _discard(worker)


async def _discard(worker: Worker) -> None:
    """Release what a failed worker held: arq does not run its shutdown hook when its main loop
    fails, so the resources its start-up hook opened are closed here."""
    stack = worker.ctx.pop("exit_stack", None)
    if isinstance(stack, contextlib.AsyncExitStack):
        with contextlib.suppress(Exception):
            await stack.aclose()
    with contextlib.suppress(Exception):
        await worker.pool.aclose()
