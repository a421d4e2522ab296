"""Feed test data written straight into PostgreSQL (posts without media: the feed only needs
author, status and publish time), and feed dependencies over the test resources."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from arq import func
from arq.connections import RedisSettings, create_pool
from arq.worker import Worker

from resources import Resources
from services.feed import FeedConfig, FeedDeps
from services.social import SocialDeps
from storage import jobs
from storage.pg import Db
from workers import feed_jobs

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    """A publish time `minutes` after T0."""
    return T0 + timedelta(minutes=minutes)


def feed_deps(resources: Resources, *, inline: bool = True, **config: Any) -> FeedDeps:
    return FeedDeps(
        db=resources.db, redis=resources.redis, config=FeedConfig(**config), run_jobs_inline=inline
    )


def social_with(resources: Resources, deps: FeedDeps) -> SocialDeps:
    """The app's social dependencies (follows call the feed hooks) with these feed deps."""
    return dataclasses.replace(resources.social, feed=deps)


async def insert_post(db: Db, author_id: int, published_at: datetime, *, likes: int = 0) -> int:
    """A PUBLISHED post (its author's post_count is left alone)."""
    post_id: int = await db.fetchval(
        """
        INSERT INTO posts (author_id, status, published_at, created_at, like_count)
        VALUES ($1, 'PUBLISHED', $2, $2, $3) RETURNING id
        """,
        author_id,
        published_at,
        likes,
    )
    return post_id


async def delete_post(db: Db, post_id: int) -> None:
    await db.execute(
        """
        UPDATE posts SET status = 'DELETED', deleted_at = now(), published_at = NULL
         WHERE id = $1
        """,
        post_id,
    )


async def insert_like(db: Db, post_id: int, user_id: int, created_at: datetime) -> None:
    await db.execute(
        "INSERT INTO likes (post_id, user_id, created_at) VALUES ($1, $2, $3)",
        post_id,
        user_id,
        created_at,
    )


async def insert_follows(db: Db, pairs: Sequence[tuple[int, int]]) -> None:
    """Follow edges (follower, followee) with the users' counters kept exact."""
    await db.execute(
        """
        WITH edges AS (
            INSERT INTO follows (follower_id, followee_id)
            SELECT * FROM unnest($1::bigint[], $2::bigint[])
            ON CONFLICT DO NOTHING
            RETURNING follower_id, followee_id
        ), deltas AS (
            SELECT id, sum(followers)::int AS followers, sum(following)::int AS following FROM (
                SELECT followee_id AS id, 1 AS followers, 0 AS following FROM edges
                UNION ALL
                SELECT follower_id, 0, 1 FROM edges
            ) d GROUP BY id
        )
        UPDATE users u SET follower_count = follower_count + deltas.followers,
                           following_count = following_count + deltas.following
          FROM deltas WHERE u.id = deltas.id
        """,
        [pair[0] for pair in pairs],
        [pair[1] for pair in pairs],
    )


async def delete_follows(db: Db, pairs: Sequence[tuple[int, int]]) -> None:
    """Remove follow edges (follower, followee) with the users' counters kept exact, and
    without the feed upkeep of services.follows."""
    for follower_id, followee_id in pairs:
        await db.execute(
            """
            WITH gone AS (
                DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2 RETURNING 1
            )
            UPDATE users SET follower_count = follower_count - CASE WHEN id = $2 THEN 1 ELSE 0 END,
                             following_count = following_count - CASE WHEN id = $1 THEN 1 ELSE 0 END
             WHERE id IN ($1, $2) AND EXISTS (SELECT 1 FROM gone)
            """,
            follower_id,
            followee_id,
        )


async def run_feed_worker_until_idle(resources: Resources, deps: FeedDeps | None = None) -> Worker:
    """A burst arq worker with the feed jobs only, on the test Redis, until the queue is empty;
    with `deps`, the jobs use them instead of deps built from the settings."""
    assert resources.settings.redis_url
    pool = await create_pool(RedisSettings.from_dsn(resources.settings.redis_url))

    async def on_startup(ctx: dict[str, Any]) -> None:
        ctx["resources"] = resources
        if deps is not None:
            ctx["feed"] = deps

    worker = Worker(
        functions=[
            func(feed_jobs.fan_out_post, name=jobs.FAN_OUT_POST),
            func(feed_jobs.fan_out_batch, name=jobs.FAN_OUT_BATCH),
            func(feed_jobs.fan_out_author, name=jobs.FAN_OUT_AUTHOR),
            func(feed_jobs.fan_out_author_batch, name=jobs.FAN_OUT_AUTHOR_BATCH),
        ],
        redis_pool=pool,
        burst=True,
        handle_signals=False,
        on_startup=on_startup,
        poll_delay=0.01,
    )
    try:
        await worker.async_run()
    finally:
        await worker.close()
    return worker
