"""The ranker's log (#22, docs/ranking.md): served RANKED pages and client impressions.

Served pages go to Redis first (a list, in the round trip that stores the page's snapshot) and
reach PostgreSQL in batches (COPY) by a worker job: the feed request never writes to
PostgreSQL. Both tables are partitioned by day (`served_at`); the partitions are created ahead
and dropped after the retention by a cron job (ensure_partitions, drop_partitions_before).
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import cast

import numpy as np
import numpy.typing as npt
import orjson
from redis.asyncio import Redis

from storage import redis_keys
from storage.pg import Db

SERVED_LOG_CAP = 100_000
"""Served pages kept in Redis while no worker drains them (the newest); older ones are lost."""
SERVED_MAP_TTL_SECONDS = 24 * 3600
"""Impressions of a post are attributed to the page that served it within this long."""
_TABLES = ("ranker_served_pages", "ranker_impressions")


@dataclass(frozen=True, slots=True)
class ServedPage:
    """A RANKED page as served: its posts in order with the features the ranker used."""

    page_id: str
    viewer_id: int
    served_ms: int
    model_version: int | None
    arm: str
    post_ids: list[int]
    feature_names: Sequence[str]
    features: npt.NDArray[np.float64]
    """One row per post of `post_ids`."""


def _record(page: ServedPage) -> bytes:
    return orjson.dumps(
        [
            page.page_id,
            page.viewer_id,
            page.served_ms,
            page.model_version,
            page.arm,
            page.post_ids,
            list(page.feature_names),
            page.features.astype(np.float32),
        ],
        option=orjson.OPT_SERIALIZE_NUMPY,
    )


def queue_served_page(pipe: Redis, page: ServedPage) -> None:
    """Add to `pipe` (a pipeline, executed by the caller) what serving `page` logs: its record
    on the served list (capped at SERVED_LOG_CAP) and each post's attribution to it
    (ranker_served_posts, for impression reports)."""
    pipe.rpush(redis_keys.RANKER_SERVED_LOG, _record(page))
    pipe.ltrim(redis_keys.RANKER_SERVED_LOG, -SERVED_LOG_CAP, -1)
    if page.post_ids:
        served = redis_keys.ranker_served_posts(page.viewer_id)
        value = f"{page.page_id}/{page.served_ms}"
        pipe.hset(served, mapping={str(post_id): value for post_id in page.post_ids})
        pipe.expire(served, SERVED_MAP_TTL_SECONDS)


async def served_pages_of(
    redis: Redis, viewer_id: int, post_ids: Sequence[int]
) -> dict[int, tuple[str, datetime]]:
    """post id -> (page id, served at) of the latest RANKED page that served it to the viewer
    (within SERVED_MAP_TTL_SECONDS); one round trip, no side effect."""
    if not post_ids:
        return {}
    values = await cast(
        Awaitable[list[bytes | None]],
        redis.hmget(redis_keys.ranker_served_posts(viewer_id), [str(i) for i in post_ids]),
    )
    found: dict[int, tuple[str, datetime]] = {}
    for post_id, value in zip(post_ids, values, strict=True):
        if value is not None:
            page_id, served_ms = (value.decode() if isinstance(value, bytes) else value).split("/")
            found[post_id] = (page_id, datetime.fromtimestamp(int(served_ms) / 1000, UTC))
    return found


async def drain_served_pages(redis: Redis, db: Db, *, batch: int) -> int:
    """Move up to `batch` served pages from Redis into ranker_served_pages (one COPY); returns
    how many. A batch is removed from Redis only after PostgreSQL has it (a crash in between
    copies it again: rows are append-only, a repeat is one duplicate page at worst)."""
    raw = await cast(
        Awaitable[list[bytes]], redis.lrange(redis_keys.RANKER_SERVED_LOG, 0, batch - 1)
    )
    if not raw:
        return 0
    records = []
    for item in raw:
        page_id, viewer, served_ms, version, arm, post_ids, names, features = orjson.loads(item)
        flat = [float(value) for row in features for value in row]
        records.append(
            (
                datetime.fromtimestamp(served_ms / 1000, UTC),
                page_id,
                viewer,
                version,
                arm,
                post_ids,
                names,
                flat,
            )
        )
    await db.copy_records_to_table(
        "ranker_served_pages",
        records=records,
        columns=[
            "served_at",
            "page_id",
            "viewer_id",
            "model_version",
            "arm",
            "post_ids",
            "feature_names",
            "features",
        ],
    )
    await cast(Awaitable[str], redis.ltrim(redis_keys.RANKER_SERVED_LOG, len(raw), -1))
    return len(raw)


@dataclass(frozen=True, slots=True)
class Impression:
    served_at: datetime
    page_id: str
    viewer_id: int
    post_id: int
    position: int
    visible_ms: int


async def insert_impressions(db: Db, impressions: Sequence[Impression]) -> int:
    """Insert the impressions, skipping those already recorded (same viewer, post and served
    page); returns how many were new. One statement."""
    if not impressions:
        return 0
    inserted: int = await db.fetchval(
        """
        WITH new AS (
            INSERT INTO ranker_impressions
                   (served_at, page_id, viewer_id, post_id, position, visible_ms)
            SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::bigint[], $4::bigint[],
                                 $5::int[], $6::int[])
            ON CONFLICT DO NOTHING
            RETURNING 1
        )
        SELECT count(*) FROM new
        """,
        [i.served_at for i in impressions],
        [i.page_id for i in impressions],
        [i.viewer_id for i in impressions],
        [i.post_id for i in impressions],
        [i.position for i in impressions],
        [i.visible_ms for i in impressions],
    )
    return inserted


def _partition(table: str, day: date) -> str:
    return f"{table}_{day:%Y%m%d}"


async def ensure_partitions(db: Db, *, today: date, days_ahead: int) -> list[str]:
    """Create the daily partitions of both log tables from `today` to `days_ahead` days later
    where missing; returns the names created. (Rows of those days already in the default
    partition would make the creation fail: the job runs ahead of time, so there are none.)"""
    created = []
    for offset in range(days_ahead + 1):
        day = today + timedelta(days=offset)
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        for table in _TABLES:
            name = _partition(table, day)
            exists = await db.fetchval("SELECT to_regclass($1) IS NOT NULL", name)
            if not exists:
                await db.execute(
                    f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {table} "
                    f"FOR VALUES FROM ('{start.isoformat()}') "
                    f"TO ('{(start + timedelta(days=1)).isoformat()}')"
                )
                created.append(name)
    return created


async def drop_partitions_before(db: Db, *, cutoff: date) -> list[str]:
    """Drop the daily partitions of both log tables for days before `cutoff`, and delete the
    default partitions' rows older than it; returns the names dropped."""
    dropped = []
    for table in _TABLES:
        rows = await db.fetch(
            """
            SELECT c.relname FROM pg_inherits i
              JOIN pg_class c ON c.oid = i.inhrelid
              JOIN pg_class parent ON parent.oid = i.inhparent
             WHERE parent.relname = $1 AND c.relname ~ '_[0-9]{8}$'
            """,
            table,
        )
        for row in rows:
            name: str = row["relname"]
            if name[-8:] < f"{cutoff:%Y%m%d}":
                await db.execute(f"DROP TABLE IF EXISTS {name}")
                dropped.append(name)
        start = datetime(cutoff.year, cutoff.month, cutoff.day, tzinfo=UTC)
        await db.execute(f"DELETE FROM {table}_default WHERE served_at < $1", start)
    return sorted(dropped)
