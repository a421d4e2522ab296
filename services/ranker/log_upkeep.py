"""Upkeep of the ranker's log: served pages copied from Redis into PostgreSQL in batches, and
the daily partitions created ahead and dropped after the retention (worker cron jobs)."""

from __future__ import annotations

from datetime import date, timedelta

from redis.asyncio import Redis

from storage import ranker_log
from storage.pg import Db

DRAIN_BATCH = 2000
PARTITION_DAYS_AHEAD = 3


async def drain_served_pages(redis: Redis, db: Db, *, max_batches: int = 50) -> int:
    """Copy the served pages waiting in Redis into ranker_served_pages, in batches of
    DRAIN_BATCH (one COPY each), until none wait or `max_batches` ran; returns how many."""
    total = 0
    for _ in range(max_batches):
        moved = await ranker_log.drain_served_pages(redis, db, batch=DRAIN_BATCH)
        total += moved
        if moved < DRAIN_BATCH:
            break
    return total


async def maintain_partitions(db: Db, *, today: date, retention_days: int) -> list[str]:
    """Create the log's partitions of today and the next PARTITION_DAYS_AHEAD days, drop those
    of days older than `retention_days`; returns the names created and dropped."""
    created = await ranker_log.ensure_partitions(db, today=today, days_ahead=PARTITION_DAYS_AHEAD)
    dropped = await ranker_log.drop_partitions_before(
        db, cutoff=today - timedelta(days=retention_days)
    )
    return created + dropped
