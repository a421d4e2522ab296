"""arq jobs of the home feed. Each takes the resources from the worker context and calls
services.feed; each can run twice without harm (feed writes are set additions). Transient
outages of Redis or PostgreSQL retry with backoff."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

import asyncpg
from arq import Retry
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from services import feed
from services.feed import FeedDeps
from workers.jobs import resources_of

log = logging.getLogger("shutter.jobs.feed")

RETRY_BACKOFF_SECONDS = (1, 5, 30, 120)
_TRANSIENT = (
    RedisConnectionError,
    RedisTimeoutError,
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
)
T = TypeVar("T")


def _deps(ctx: dict[str, Any]) -> FeedDeps:
    deps: FeedDeps | None = ctx.get("feed")  # set by tests that run the jobs on deps of their own
    return deps if deps is not None else resources_of(ctx).feed


async def retrying(ctx: dict[str, Any], what: str, work: Awaitable[T]) -> T:
    """Await `work`; a transient outage of Redis or PostgreSQL retries the job with backoff
    (arq Retry), for every job that is safe to run again."""
    try:
        return await work
    except _TRANSIENT as error:
        job_try: int = ctx.get("job_try", 1)
        delay = RETRY_BACKOFF_SECONDS[min(job_try, len(RETRY_BACKOFF_SECONDS)) - 1]
        log.warning("%s: %s; retrying in %ss", what, error, delay)
        raise Retry(defer=delay) from error


async def fan_out_post(ctx: dict[str, Any], post_id: int) -> str:
    """Enqueued on publish (storage.jobs.FAN_OUT_POST): plan and start the fan-out."""
    result = await retrying(
        ctx, f"fan-out of post {post_id}", feed.fan_out_post(_deps(ctx), post_id)
    )
    if result.skipped:
        return f"skipped: {result.skipped}"
    return f"{result.batches} batches" + (
        " enqueued" if result.enqueued else f", {result.inserted} inserted"
    )


async def fan_out_batch(
    ctx: dict[str, Any], post_id: int, after_follower_id: int, until_follower_id: int | None
) -> int:
    """One batch of a post's fan-out (storage.jobs.FAN_OUT_BATCH)."""
    return await retrying(
        ctx,
        f"fan-out of post {post_id} after follower {after_follower_id}",
        feed.fan_out_batch(_deps(ctx), post_id, after_follower_id, until_follower_id),
    )


async def fan_out_author(ctx: dict[str, Any], author_id: int, round_id: int) -> str:
    """An author dropped below the celebrity threshold (storage.jobs.FAN_OUT_AUTHOR)."""
    result = await retrying(
        ctx, f"fan-out of author {author_id}", feed.fan_out_author(_deps(ctx), author_id, round_id)
    )
    return f"skipped: {result.skipped}" if result.skipped else f"{result.batches} batches"


async def fan_out_author_batch(
    ctx: dict[str, Any],
    author_id: int,
    round_id: int,
    after_follower_id: int,
    until_follower_id: int | None,
) -> int:
    """One batch of fan_out_author (storage.jobs.FAN_OUT_AUTHOR_BATCH); `round_id` only keeps
    the job ids of two such events apart."""
    return await retrying(
        ctx,
        f"fan-out of author {author_id} after follower {after_follower_id}",
        feed.fan_out_author_batch(_deps(ctx), author_id, after_follower_id, until_follower_id),
    )


async def clean_feeds_after_block(ctx: dict[str, Any], blocker_id: int, blocked_id: int) -> int:
    """After a block (storage.jobs.CLEAN_FEEDS_AFTER_BLOCK): each side's posts leave the
    other's cached feed; returns the entries removed."""
    return await retrying(
        ctx,
        f"feed clean-up after {blocker_id} blocked {blocked_id}",
        feed.forget_each_other(_deps(ctx), blocker_id, blocked_id),
    )
