"""The arq worker: `build_worker(settings)` for `shutter worker` / `shutter run`, and
`WorkerSettings` for arq's own CLI (`arq workers.WorkerSettings`, reading the environment)."""

from __future__ import annotations

import contextlib
from typing import Any

from arq import cron
from arq.connections import RedisSettings
from arq.worker import Worker

from resources import open_resources
from settings import Settings
from workers.jobs import purge_ended_sessions

FUNCTIONS: list[Any] = []
CRON_JOBS = [cron(purge_ended_sessions, hour={4}, minute={17}, unique=True)]


def lifecycle_hooks(settings: Settings) -> dict[str, Any]:
    """on_startup / on_shutdown that open and close the process Resources in the job context."""

    async def on_startup(ctx: dict[str, Any]) -> None:
        stack = contextlib.AsyncExitStack()
        ctx["resources"] = await stack.enter_async_context(open_resources(settings))
        ctx["exit_stack"] = stack

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        stack: contextlib.AsyncExitStack = ctx.pop("exit_stack")
        await stack.aclose()

    return {"on_startup": on_startup, "on_shutdown": on_shutdown}


def build_worker(settings: Settings, *, burst: bool = False, handle_signals: bool = True) -> Worker:
    """A worker for the queue on `settings.redis_url`; nothing connects until it runs."""
    assert settings.redis_url, "the worker needs REDIS_URL"
    return Worker(
        functions=FUNCTIONS,
        cron_jobs=CRON_JOBS,
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        burst=burst,
        handle_signals=handle_signals,
        **lifecycle_hooks(settings),
    )


def __getattr__(name: str) -> Any:
    """`workers.WorkerSettings`, for arq's own CLI, built from the environment on first use
    (so that importing this package reads no settings)."""
    if name != "WorkerSettings":
        raise AttributeError(name)
    settings = Settings()
    if not settings.redis_url:
        raise RuntimeError("arq workers.WorkerSettings needs REDIS_URL (and DATABASE_URL)")
    return {
        "functions": FUNCTIONS,
        "cron_jobs": CRON_JOBS,
        "redis_settings": RedisSettings.from_dsn(settings.redis_url),
        **lifecycle_hooks(settings),
    }
