"""arq jobs. Each is a few lines: take what it needs from the worker context, call a service.
Every job can run twice without harm."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from arq import Retry

from resources import Resources
from services import accounts, likes, media, media_processing
from services.media_processing import ProcessingDeps, TransientProcessingError

log = logging.getLogger("shutter.jobs")

SESSION_RETENTION = timedelta(days=7)
RETRY_BACKOFF_SECONDS = (2, 8, 30, 120)


def resources_of(ctx: dict[str, Any]) -> Resources:
    resources: Resources = ctx["resources"]
    return resources


async def purge_ended_sessions(ctx: dict[str, Any]) -> int:
    """Cron: delete sessions that ended over a week ago. Side effect: DELETE on sessions."""
    deleted = await accounts.purge_ended_sessions(resources_of(ctx).db, retention=SESSION_RETENTION)
    log.info("purged %d ended sessions", deleted)
    return deleted


async def flush_like_counts(ctx: dict[str, Any]) -> int:
    """Cron: write changed Redis like counters into posts.like_count."""
    resources = resources_of(ctx)
    return await likes.flush_like_counts(resources.db, resources.redis)


async def process_media(ctx: dict[str, Any], media_id: int) -> str:
    """Render one uploaded media item. Storage outages retry with backoff; the last try, or
    any unexpected error, ends the media FAILED: never PROCESSING forever."""
    deps: ProcessingDeps = ctx["processing"]
    job_try: int = ctx["job_try"]
    last_try = job_try >= resources_of(ctx).settings.media_job_max_tries
    try:
        outcome = await media_processing.process_media(deps, media_id, last_try=last_try)
    except TransientProcessingError as error:
        delay = RETRY_BACKOFF_SECONDS[min(job_try, len(RETRY_BACKOFF_SECONDS)) - 1]
        log.warning("media %s: %s; retrying in %ss", media_id, error, delay)
        raise Retry(defer=delay) from error
    except Exception:
        log.exception("media %s: processing failed unexpectedly", media_id)
        await media_processing.fail_media(deps, media_id, "internal error while processing")
        raise
    return outcome.status if outcome else "missing"


async def purge_abandoned_uploads(ctx: dict[str, Any]) -> int:
    """Cron: delete uploads never completed (rows and partial originals)."""
    resources = resources_of(ctx)
    return await media.purge_abandoned_uploads(
        resources.media,
        older_than=timedelta(seconds=resources.settings.abandoned_upload_ttl_seconds),
    )


async def delete_post_files(ctx: dict[str, Any], post_id: int) -> int:
    """Remove a deleted post's media files and mark the media DELETED (idempotent)."""
    return await media.delete_post_files(resources_of(ctx).media, post_id)


async def sweep_stale_media(ctx: dict[str, Any]) -> int:
    """Cron: re-enqueue media left PROCESSING by a crashed worker (FAILED after a few sweeps)."""
    resources = resources_of(ctx)
    settings = resources.settings
    return await media_processing.sweep_stale_media(
        ctx["processing"],
        resources.redis,
        stale_after=timedelta(seconds=settings.media_stale_after_seconds),
        max_sweeps=settings.media_max_sweeps,
    )
