"""The arq worker: `build_worker(settings)` for `shutter worker` / `shutter run`, and
`WorkerSettings` for arq's own CLI (`arq workers.WorkerSettings`, reading the environment)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from arq import cron, func
from arq.connections import RedisSettings
from arq.worker import Worker

from resources import Resources, open_resources
from services.known_images import Blocklist
from services.media_processing import ProcessingDeps, ProcessingLimits
from services.moderation import load_default_moderator
from settings import Settings
from storage.jobs import (
    APPROVE_FOLLOW_REQUESTS,
    CLEAN_FEEDS_AFTER_BLOCK,
    DELETE_POST_FILES,
    ERASE_ACCOUNT,
    EXPORT_DATA,
    FAN_OUT_AUTHOR,
    FAN_OUT_AUTHOR_BATCH,
    FAN_OUT_BATCH,
    FAN_OUT_POST,
    PROCESS_MEDIA,
    SEND_EMAIL,
    START_PASSWORD_RESET,
)
from storage.redis_client import redis_client
from storage.search.jobs import INDEX_POST, INDEX_USER
from workers import feed_jobs, follow_jobs, leaving_jobs
from workers.jobs import (
    delete_post_files,
    drain_ranker_log,
    flush_like_counts,
    maintain_ranker_partitions,
    process_media,
    purge_abandoned_uploads,
    purge_ended_sessions,
    send_email,
    start_password_reset,
    sweep_stale_media,
    train_ranker,
)
from workers.observability import observed, on_job_start
from workers.search_jobs import search_index_post, search_index_user

# The job's own limit stops processing first and records why; arq's timeout is the backstop.
ARQ_TIMEOUT_MARGIN_SECONDS = 5
# arq holds a running job for (longest timeout + 10 s); after a worker dies, another worker takes
# the job over once that lapses. Short cron timeouts keep the takeover quick.
CRON_TIMEOUT_SECONDS = 10
# A fan-out batch is one Redis script call for ~1,000 followers: seconds would be pathological.
FEED_JOB_TIMEOUT_SECONDS = 10
# An SMTP session gives up after 30 s (storage.mail.smtp); the job's limit is the backstop.
EMAIL_JOB_TIMEOUT_SECONDS = 45
# Erasing works in slices of 25 s (workers.leaving_jobs); an export of a large media library is
# bounded by this too. Kept at the mail job's limit: arq hands a dead worker's jobs over only
# after (longest timeout + 10 s).
LEAVING_JOB_TIMEOUT_SECONDS = EMAIL_JOB_TIMEOUT_SECONDS
# The daily ranker training reads a week of the log and fits a small model (seconds at today's
# scale; the fitting runs in a thread, so the worker's other jobs go on meanwhile). Held to the
# same limit for the same reason: a longer one would delay every dead worker's hand-over.
RANKER_TRAINING_TIMEOUT_SECONDS = EMAIL_JOB_TIMEOUT_SECONDS


def processing_deps(settings: Settings, resources: Resources) -> ProcessingDeps:
    """What media processing needs, for a worker process with these resources. Side effect:
    loads the moderation model, when one is installed."""
    return ProcessingDeps(
        db=resources.db,
        redis=resources.redis,
        blobs=resources.blobs,
        moderator=load_default_moderator(
            settings.moderation_classifier, threshold=settings.moderation_nsfw_threshold
        ),
        limits=processing_limits(settings),
        cpu_slots=asyncio.Semaphore(settings.media_processing_concurrency),
        publishing=resources.posts,
        transcode_slots=asyncio.Semaphore(settings.video_transcode_concurrency),
        blocklist=Blocklist(
            max_distance=settings.known_image_max_distance,
            min_quality=settings.known_image_min_quality,
        ),
    )


def processing_limits(settings: Settings) -> ProcessingLimits:
    """The media limits of these settings (see settings.py for each)."""
    return ProcessingLimits(
        max_pixels=settings.max_image_pixels,
        max_video_seconds=settings.max_video_seconds,
        time_limit_seconds=settings.media_job_timeout_seconds,
        max_video_pixels=settings.max_video_pixels,
        max_video_bytes=settings.max_video_bytes,
        max_video_frame_rate=settings.max_video_frame_rate,
        video_time_limit_seconds=settings.video_transcode_timeout_seconds,
        x264_preset=settings.video_x264_preset,
        progress_interval_seconds=settings.video_progress_interval_seconds,
        video_keyframes=settings.video_moderation_keyframes,
    )


def worker_options(settings: Settings) -> dict[str, Any]:
    """Everything arq needs but the Redis connection: jobs (timed and counted in metrics),
    crons, start-up and job hooks, and how long SIGTERM waits for running jobs."""

    async def on_startup(ctx: dict[str, Any]) -> None:
        stack = contextlib.AsyncExitStack()
        resources = await stack.enter_async_context(open_resources(settings))
        ctx["exit_stack"] = stack
        ctx["resources"] = resources
        ctx["processing"] = processing_deps(settings, resources)

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        # Absent when the worker is stopped before its start-up finished.
        stack: contextlib.AsyncExitStack | None = ctx.pop("exit_stack", None)
        if stack is not None:
            await stack.aclose()

    options: dict[str, Any] = {
        "functions": [
            func(
                process_media,
                name=PROCESS_MEDIA,
                # A video's run: its transcode plus the rest (the job's own limits stop first).
                timeout=processing_limits(settings).run_limit_seconds("VIDEO")
                + ARQ_TIMEOUT_MARGIN_SECONDS,
                max_tries=settings.media_job_max_tries,
            ),
            func(
                delete_post_files,
                name=DELETE_POST_FILES,
                max_tries=5,
                timeout=FEED_JOB_TIMEOUT_SECONDS,
            ),
            func(feed_jobs.fan_out_post, name=FAN_OUT_POST, timeout=FEED_JOB_TIMEOUT_SECONDS),
            func(feed_jobs.fan_out_batch, name=FAN_OUT_BATCH, timeout=FEED_JOB_TIMEOUT_SECONDS),
            func(feed_jobs.fan_out_author, name=FAN_OUT_AUTHOR, timeout=FEED_JOB_TIMEOUT_SECONDS),
            func(search_index_post, name=INDEX_POST, max_tries=5, timeout=FEED_JOB_TIMEOUT_SECONDS),
            func(search_index_user, name=INDEX_USER, max_tries=5, timeout=FEED_JOB_TIMEOUT_SECONDS),
            # Messages and reset requests carry addresses and links: no result kept in Redis.
            func(
                send_email,
                name=SEND_EMAIL,
                max_tries=settings.email_job_max_tries,
                timeout=EMAIL_JOB_TIMEOUT_SECONDS,
                keep_result=0,
            ),
            func(
                start_password_reset,
                name=START_PASSWORD_RESET,
                max_tries=5,
                timeout=FEED_JOB_TIMEOUT_SECONDS,
                keep_result=0,
            ),
            # Their ids name the account: no result kept (an erased account leaves none).
            func(
                leaving_jobs.erase_account,
                name=ERASE_ACCOUNT,
                max_tries=10_000,  # each slice of a big account is a try
                timeout=LEAVING_JOB_TIMEOUT_SECONDS,
                keep_result=0,
            ),
            func(
                leaving_jobs.export_data,
                name=EXPORT_DATA,
                max_tries=3,
                timeout=LEAVING_JOB_TIMEOUT_SECONDS,
                keep_result=0,
            ),
            func(
                feed_jobs.fan_out_author_batch,
                name=FAN_OUT_AUTHOR_BATCH,
                timeout=FEED_JOB_TIMEOUT_SECONDS,
            ),
            func(
                feed_jobs.clean_feeds_after_block,
                name=CLEAN_FEEDS_AFTER_BLOCK,
                timeout=FEED_JOB_TIMEOUT_SECONDS,
            ),
            func(
                follow_jobs.approve_follow_requests,
                name=APPROVE_FOLLOW_REQUESTS,
                timeout=FEED_JOB_TIMEOUT_SECONDS,
            ),
        ],
        "cron_jobs": [
            cron(
                purge_ended_sessions,
                hour={4},
                minute={17},
                unique=True,
                timeout=CRON_TIMEOUT_SECONDS,
            ),
            cron(sweep_stale_media, second={30}, unique=True, timeout=CRON_TIMEOUT_SECONDS),
            cron(
                purge_abandoned_uploads,
                minute={41},
                second={0},
                unique=True,
                timeout=CRON_TIMEOUT_SECONDS,
            ),
            cron(
                drain_ranker_log,
                second={5, 15, 25, 35, 45, 55},
                unique=True,
                timeout=CRON_TIMEOUT_SECONDS,
            ),
            *(
                [
                    cron(
                        train_ranker,
                        hour={settings.ranker_training_hour},
                        minute={31},
                        second={0},
                        unique=True,
                        timeout=RANKER_TRAINING_TIMEOUT_SECONDS,
                    )
                ]
                if settings.ranker_training_enabled
                else []
            ),
            cron(
                maintain_ranker_partitions,
                minute={7},
                second={0},
                unique=True,
                run_at_startup=True,
                timeout=CRON_TIMEOUT_SECONDS,
            ),
            cron(
                leaving_jobs.erase_due_accounts,
                minute={23},
                second={0},
                unique=True,
                timeout=CRON_TIMEOUT_SECONDS,
            ),
            cron(
                leaving_jobs.purge_expired_exports,
                minute={53},
                second={0},
                unique=True,
                timeout=CRON_TIMEOUT_SECONDS,
            ),
            cron(
                flush_like_counts,
                second=set(range(0, 60, settings.like_flush_interval_seconds)),
                unique=True,
                timeout=CRON_TIMEOUT_SECONDS,
            ),
        ],
        "on_startup": on_startup,
        "on_shutdown": on_shutdown,
        "on_job_start": on_job_start,
        # SIGTERM/SIGINT: stop taking jobs, let running ones finish this long, then cancel them
        # (arq puts a cancelled job back in the queue for the next worker).
        "job_completion_wait": settings.shutdown_grace_seconds,
    }
    # Every job logs with its id and name and is timed and counted (workers.observability).
    for kind in ("functions", "cron_jobs"):
        options[kind] = [observed(function) for function in options[kind]]
    return options


def build_worker(settings: Settings, *, burst: bool = False, handle_signals: bool = True) -> Worker:
    """A worker for the queue on `settings.redis_url`; nothing connects until it runs. Its
    Redis calls give up after REDIS_TIMEOUT_SECONDS (storage.redis_client)."""
    assert settings.redis_url, "the worker needs REDIS_URL"
    return Worker(
        redis_pool=redis_client(settings.redis_url, timeout_seconds=settings.redis_timeout_seconds),
        burst=burst,
        handle_signals=handle_signals,
        **worker_options(settings),
    )


async def drain(worker: Worker, grace_seconds: float) -> None:
    """Stop an in-process worker (one built with handle_signals=False) gracefully: it takes no
    new job, running jobs get `grace_seconds` to finish, then the rest are cancelled (arq puts
    them back in the queue) and the worker closes. Side effect: the worker's resources close.

    arq's `Worker.close` gathers the job tasks without `return_exceptions`, so a job it has to
    cancel there (one still running, or one its poll loop started while the stop began) raised
    CancelledError out of the close, skipping the rest of it (its shutdown hook included).
    Every job task is settled here first, and the poll loop stopped, so close meets none."""
    worker.allow_pick_jobs = False
    await _settle_jobs(worker, grace_seconds)
    main_task = worker.main_task
    if main_task is not None and not main_task.done():
        main_task.cancel()
        await asyncio.gather(main_task, return_exceptions=True)
    await _settle_jobs(worker, 0)  # a job the poll loop started meanwhile
    await worker.close()


async def _settle_jobs(worker: Worker, grace_seconds: float) -> None:
    """Wait up to `grace_seconds` for the worker's running job tasks, cancel those still running,
    wait for them, and drop the cancelled ones from `worker.tasks`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace_seconds
    while running := [task for task in worker.tasks.values() if not task.done()]:
        remaining = deadline - loop.time()
        if remaining <= 0:
            for task in running:
                task.cancel()
        await asyncio.wait(running, timeout=remaining if remaining > 0 else None)
    for job_id, task in list(worker.tasks.items()):
        if task.cancelled():
            del worker.tasks[job_id]


def __getattr__(name: str) -> Any:
    """`workers.WorkerSettings`, for arq's own CLI, built from the environment on first use
    (so that importing this package reads no settings)."""
    if name != "WorkerSettings":
        raise AttributeError(name)
    settings = Settings()
    if not settings.redis_url:
        raise RuntimeError("arq workers.WorkerSettings needs REDIS_URL (and DATABASE_URL)")
    timeout = settings.redis_timeout_seconds
    return {
        "redis_pool": redis_client(settings.redis_url, timeout_seconds=timeout),
        # Read by arq's `--check` only (the worker itself uses `redis_pool`).
        "redis_settings": RedisSettings.from_dsn(settings.redis_url),
        **worker_options(settings),
    }
