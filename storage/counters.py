"""Like counters in Redis: moved only on a real insert or delete, read in one MGET, flushed to
PostgreSQL by a periodic job. A missing counter (new Redis, evicted, expired) is recounted from
the likes table by the reader, so counts stay exact after a Redis restart."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import cast

from redis.asyncio import Redis

from storage import redis_keys, redis_scripts

COUNTER_TTL_SECONDS = 7 * 24 * 3600

# Move the counter only if it exists: a missing one is recounted from PostgreSQL on the next
# read, and starting it at +1 here would make it wrong. Also mark the post for the next flush.
_ADD_IF_PRESENT = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('INCRBY', KEYS[1], ARGV[1])
end
redis.call('SADD', KEYS[2], ARGV[2])
return 1
"""


async def add_to_like_count(redis: Redis, post_id: int, delta: int) -> None:
    """Side effects: INCRBY on the post's counter if present; marks the post dirty."""
    script = redis_scripts.script(redis, _ADD_IF_PRESENT)
    await script(
        keys=[redis_keys.post_like_count(post_id), redis_keys.LIKE_COUNTS_DIRTY],
        args=[delta, post_id],
    )


async def start_like_count(redis: Redis, post_id: int) -> None:
    """A newly published post starts at 0 (only if no counter exists)."""
    await redis.set(redis_keys.post_like_count(post_id), 0, nx=True, ex=COUNTER_TTL_SECONDS)


async def read_like_counts(redis: Redis, post_ids: Sequence[int]) -> list[int | None]:
    """The counters in one round trip; None where there is none."""
    if not post_ids:
        return []
    return like_counters(await redis.mget(like_count_keys(post_ids)))


def like_count_keys(post_ids: Sequence[int]) -> list[str]:
    """The counters' keys, in order (for a script that reads them: see like_counters)."""
    return [redis_keys.post_like_count(post_id) for post_id in post_ids]


def like_counters(values: Sequence[bytes | None]) -> list[int | None]:
    """The counters of an MGET of like_count_keys; None where there is none."""
    return [int(value) if value is not None else None for value in values]


async def fill_like_counts(redis: Redis, counts: dict[int, int]) -> None:
    """Store recounted values where no counter exists yet (never overwrites a live counter)."""
    async with redis.pipeline(transaction=False) as pipe:
        for post_id, count in counts.items():
            pipe.set(redis_keys.post_like_count(post_id), count, nx=True, ex=COUNTER_TTL_SECONDS)
        await pipe.execute()


async def take_dirty_like_counts(redis: Redis, limit: int) -> dict[int, int | None]:
    """Pop up to `limit` dirty post ids with their current counters (None: no counter)."""
    # redis-py types its async commands as "value or awaitable"; they are awaitables here.
    popped = await cast(
        Awaitable[list[bytes] | None], redis.spop(redis_keys.LIKE_COUNTS_DIRTY, limit)
    )
    post_ids = [int(value) for value in popped or []]
    return dict(zip(post_ids, await read_like_counts(redis, post_ids), strict=True))
