"""arq jobs. Each is a few lines: take what it needs from the worker context, call a service.
Every job can run twice without harm."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from arq import Retry

from resources import Resources
from services import account_recovery, accounts, likes, mail, media, media_processing
from services.media_processing import ProcessingDeps, TransientProcessingError
from services.ranker import log_upkeep, training
from storage.jobs import Sealed
from storage.mail import Envelope, MailDeliveryError

log = logging.getLogger("shutter.jobs")

SESSION_RETENTION = timedelta(days=7)
RETRY_BACKOFF_SECONDS = (2, 8, 30, 120)
EMAIL_RETRY_BACKOFF_SECONDS = (10, 60, 300, 900, 1800)


def resources_of(ctx: dict[str, Any]) -> Resources:
    resources: Resources = ctx["resources"]
    return resources


async def purge_ended_sessions(ctx: dict[str, Any]) -> int:
    """Cron: delete sessions, and account tokens (verification, reset, email change), that
    ended over a week ago; returns how many rows. Side effect: DELETE on both tables."""
    db = resources_of(ctx).db
    sessions = await accounts.purge_ended_sessions(db, retention=SESSION_RETENTION)
    tokens = await account_recovery.purge_ended_tokens(db, retention=SESSION_RETENTION)
    log.info("purged %d ended sessions and %d ended account tokens", sessions, tokens)
    return sessions + tokens


async def flush_like_counts(ctx: dict[str, Any]) -> int:
    """Cron: write changed Redis like counters into posts.like_count."""
    resources = resources_of(ctx)
    return await likes.flush_like_counts(resources.db, resources.redis)


async def drain_ranker_log(ctx: dict[str, Any]) -> int:
    """Cron: copy the served RANKED pages waiting in Redis into PostgreSQL (batched COPY)."""
    resources = resources_of(ctx)
    return await log_upkeep.drain_served_pages(resources.redis, resources.db)


async def maintain_ranker_partitions(ctx: dict[str, Any]) -> int:
    """Cron: create the ranker log's upcoming daily partitions, drop the expired ones."""
    resources = resources_of(ctx)
    changed = await log_upkeep.maintain_partitions(
        resources.db,
        today=datetime.now(UTC).date(),
        retention_days=resources.settings.ranker_retention_days,
    )
    return len(changed)


async def train_ranker(ctx: dict[str, Any]) -> str:
    """Cron (daily, RANKER_TRAINING_HOUR, unless RANKER_TRAINING_ENABLED is false): train a
    feed ranker model on the log; promoted only when it beats the active one on held-out days
    (services.ranker.training, as `shutter train-ranker`). Too little data is logged and
    skipped, not an error. Returns "promoted N", "rejected N" or "skipped"."""
    resources = resources_of(ctx)
    try:
        result = await training.train(resources.db, now=datetime.now(UTC))
    except training.TrainingError as error:
        log.info("ranker training skipped: %s", error)
        return "skipped"
    outcome = "promoted" if result.promoted else "rejected"
    log.info(
        "ranker model %d %s: held-out ndcg@10 %.4f (formula %.4f), auc %.4f",
        result.version,
        outcome,
        result.metrics["model"]["ndcg10"],
        result.metrics["formula"]["ndcg10"],
        result.metrics["model"]["auc"],
    )
    return f"{outcome} {result.version}"


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


async def send_email(ctx: dict[str, Any], envelope: Envelope) -> str:
    """Hand one account message to the SMTP server (or the outbox). A server that is down or
    refuses retries with back-off (EMAIL_RETRY_BACKOFF_SECONDS) up to EMAIL_JOB_MAX_TRIES; the
    log names the message id only, never an address or a body."""
    job_try: int = ctx["job_try"]
    resources = resources_of(ctx)
    try:
        await mail.deliver(resources.mail_transport, envelope)
    except MailDeliveryError as error:
        if job_try >= resources.settings.email_job_max_tries:
            log.error("message %s not delivered after %d tries: %s", envelope, job_try, error)
            return "undelivered"
        delay = EMAIL_RETRY_BACKOFF_SECONDS[min(job_try, len(EMAIL_RETRY_BACKOFF_SECONDS)) - 1]
        log.warning("message %s: %s; retrying in %ss", envelope, error, delay)
        raise Retry(defer=delay) from None
    return "sent"


async def start_password_reset(ctx: dict[str, Any], email: Sealed) -> str:
    """Look the requested address up; when it has an account, queue its reset message. The
    result says neither (a job result is kept in Redis a while)."""
    await account_recovery.start_password_reset(resources_of(ctx).accounts, email.value)
    return "done"
