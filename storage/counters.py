"""Like counters in Redis: moved only on a real insert or delete, read in one MGET, flushed to
PostgreSQL by a periodic job. A missing counter (new Redis, evicted, expired) is recounted from
the likes table by the reader, so counts stay exact after a Redis restart.

The refill is race-free: each post also has a version, bumped by every like and unlike in the
same script that moves the counter (or skips it when there is none). A reader reads the version
with the counter, BEFORE it recounts; the recount is stored only if the version has not moved
since, so a like committed after the recount's snapshot (whose increment found no counter and
was skipped) makes the refill give up instead of leaving the counter one short. A refill given
up costs only a recount on the next read. A post's first counter (0, at publish) is likewise
written only if no like or unlike has reached Redis yet."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from typing import NamedTuple, cast

from redis.asyncio import Redis

from storage import redis_keys, redis_scripts

COUNTER_TTL_SECONDS = 7 * 24 * 3600


class LikeCounter(NamedTuple):
    """A post's like counter as read, with the version read alongside it."""

    value: int | None
    """The live count; None when Redis holds none (recount, then `fill_like_counts`)."""
    version: bytes | None
    """The post's like version when read (None: none yet); a refill needs it unchanged."""


# Move the counter only if it exists: a missing one is recounted from PostgreSQL on the next
# read, and starting it at +1 here would make it wrong. Bump the version either way (a refill
# racing with this change then gives up), and mark the post for the next flush.
_ADD_IF_PRESENT = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('INCRBY', KEYS[1], ARGV[1])
end
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[2])
return 1
"""

# Store a recount as the counter unless a counter exists or the version moved since the reader
# read ARGV[2] ('' for none) before recounting. Returns 1 when stored.
_FILL_IF_UNCHANGED = """
local version = redis.call('GET', KEYS[2]) or ''
if version ~= ARGV[2] then
  return 0
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[3]) then
  return 1
end
return 0
"""


async def add_to_like_count(redis: Redis, post_id: int, delta: int) -> None:
    """Call after a like or unlike committed. Side effects, one script call: INCRBY on the
    post's counter if present; the post's like version + 1; the post marked dirty."""
    script = redis_scripts.script(redis, _ADD_IF_PRESENT)
    await script(
        keys=[
            redis_keys.post_like_count(post_id),
            redis_keys.post_like_version(post_id),
            redis_keys.LIKE_COUNTS_DIRTY,
        ],
        args=[delta, post_id, COUNTER_TTL_SECONDS],
    )


async def start_like_count(redis: Redis, post_id: int) -> None:
    """A newly published post starts at 0: only if no counter exists and no like or unlike has
    reached Redis (one liked at once after its publish is recounted instead)."""
    await fill_like_counts(redis, {post_id: (0, None)})


async def read_like_counts(redis: Redis, post_ids: Sequence[int]) -> list[LikeCounter]:
    """The counters with their versions, in one round trip."""
    if not post_ids:
        return []
    return like_counters(await redis.mget(like_count_keys(post_ids)))


def like_count_keys(post_ids: Sequence[int]) -> list[str]:
    """The counters' keys, each followed by its version's key, in order (for a script that
    reads them all: see like_counters)."""
    return [
        key
        for post_id in post_ids
        for key in (redis_keys.post_like_count(post_id), redis_keys.post_like_version(post_id))
    ]


def like_counters(values: Sequence[bytes | None]) -> list[LikeCounter]:
    """The counters of an MGET of like_count_keys."""
    return [
        LikeCounter(int(count) if count is not None else None, version)
        for count, version in zip(values[::2], values[1::2], strict=True)
    ]


async def fill_like_counts(redis: Redis, recounts: dict[int, tuple[int, bytes | None]]) -> None:
    """Store recounted values, each `(count, version read before recounting)`, where no counter
    exists and the version has not moved (never overwrites a live counter, never stores a count
    a concurrent like or unlike has outdated). One round trip; one script call per post."""
    script = redis_scripts.script(redis, _FILL_IF_UNCHANGED)
    async with redis.pipeline(transaction=False) as pipe:
        for post_id, (count, version) in recounts.items():
            await script(
                keys=[redis_keys.post_like_count(post_id), redis_keys.post_like_version(post_id)],
                args=[count, version or b"", COUNTER_TTL_SECONDS],
                client=pipe,
            )
        await pipe.execute()


async def take_dirty_like_counts(redis: Redis, limit: int) -> dict[int, int | None]:
    """Pop up to `limit` dirty post ids with their current counters (None: no counter)."""
    # redis-py types its async commands as "value or awaitable"; they are awaitables here.
    popped = await cast(
        Awaitable[list[bytes] | None], redis.spop(redis_keys.LIKE_COUNTS_DIRTY, limit)
    )
    post_ids = [int(value) for value in popped or []]
    read = await read_like_counts(redis, post_ids)
    return {post_id: counter.value for post_id, counter in zip(post_ids, read, strict=True)}
