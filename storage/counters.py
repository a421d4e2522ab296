"""Like counters in Redis: moved only on a real insert or delete, read in one MGET, flushed to
PostgreSQL by a periodic job. A missing counter (new Redis, evicted, expired) is recounted from
the likes table by the reader, so counts stay exact after a Redis restart.

The refill is race-free. A like or unlike is bracketed (`like_change`): before its PostgreSQL
write it marks itself pending and bumps the post's version; after it, one script applies its
change to the counter (if one exists), bumps the version again and ends the pending mark (a
call that changed nothing takes its bump back: refused or repeated likes leave no trace). A
reader reads the counter with the version and the pending mark, BEFORE it recounts, and the
recount is stored only if nothing was pending then and the version has not moved since. So no
change can fall between the recount and the refill: neither one committed after the recount's
snapshot whose increment found no counter (the counter would stay one short), nor one committed
before it whose increment lands after the refill (counted twice). A refill given up costs only
a recount on the next read. A post's first counter (0, at publish) is likewise written only if
no like or unlike has begun yet.

A process that dies inside a change leaves its pending mark: it expires GUARD_TTL_SECONDS
after the post's last change, and until then the post's count is recounted on each read
(exact, slower). A change whose PostgreSQL write failed, outcome unknown, deletes the counter:
the next read recounts."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, cast

from redis.asyncio import Redis

from storage import redis_keys, redis_scripts

COUNTER_TTL_SECONDS = 7 * 24 * 3600
GUARD_TTL_SECONDS = 300
"""How long a post's version and pending mark outlive the last like or unlike of it: far longer
than a like's one-statement write or a reader's recount (the guard holds within that time), and
short enough that likes of posts nobody reads again leave nothing behind for long."""


class LikeCounter(NamedTuple):
    """A post's like counter as read, with the version and pending mark read alongside it."""

    value: int | None
    """The live count; None when Redis holds none (recount, then `fill_like_counts`)."""
    version: bytes | None
    """The post's like version when read (None: no change lately); a refill needs it
    unchanged."""
    pending: int
    """Likes and unlikes of the post under way when read; a refill needs 0."""

    @property
    def refillable(self) -> bool:
        """Whether a recount started after this read may be stored (see fill_like_counts)."""
        return self.value is None and self.pending == 0


# Before the PostgreSQL write: pending + 1, version + 1 (TTLs renewed).
_BEGIN = """
redis.call('INCR', KEYS[1])
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
return 1
"""

# After it: ARGV[1] is the change (-1, 0, 1) or 'unknown' (the write failed). A change moves
# the counter only if it exists (a missing one is recounted from PostgreSQL on the next read,
# and starting it at +1 here would make it wrong) or, unknown, deletes it; bumps the version
# again; marks the post for the next flush. No change takes back the version's bump instead,
# so a call that changed nothing leaves Redis as it was (the version then returns to what a
# reader saw only if no change began meanwhile). Either way the pending mark ends. A version or
# pending mark at 0 is deleted (absent means 0).
_FINISH = """
local function lower(key)
  local n = tonumber(redis.call('GET', key) or '0')
  if n > 1 then
    redis.call('DECR', key)
  elseif n == 1 then
    redis.call('DEL', key)
  end
end
if ARGV[1] == '0' then
  lower(KEYS[2])
else
  if ARGV[1] == 'unknown' then
    redis.call('DEL', KEYS[1])
  elseif redis.call('EXISTS', KEYS[1]) == 1 then
    redis.call('INCRBY', KEYS[1], ARGV[1])
  end
  redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], ARGV[3])
  redis.call('SADD', KEYS[4], ARGV[2])
end
lower(KEYS[3])
return 1
"""

# Store a recount as the counter unless a counter exists or the version moved since the reader
# read ARGV[2] ('0' for none) before recounting (nothing was pending then: the caller checked).
_FILL_IF_UNCHANGED = """
local version = redis.call('GET', KEYS[2]) or '0'
if version ~= ARGV[2] then
  return 0
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[3]) then
  return 1
end
return 0
"""


def _post_keys(post_id: int) -> list[str]:
    return [
        redis_keys.post_like_count(post_id),
        redis_keys.post_like_version(post_id),
        redis_keys.post_like_pending(post_id),
    ]


@dataclass(slots=True)
class LikeChange:
    """What a like or unlike did to the likes table: set `delta` (-1, 0, 1) once known."""

    delta: int | None = None


@contextlib.asynccontextmanager
async def like_change(redis: Redis, post_id: int) -> AsyncIterator[LikeChange]:
    """Bracket one like or unlike's PostgreSQL write (inside the block) so that no recount of
    the post's counter is stored across it; set the yielded LikeChange's `delta` after it.

    Side effects, one script call on entry: the post's pending mark and version + 1. On exit,
    one script call: the counter moved by `delta` if present (deleted instead when `delta` was
    never set: the block raised), the version + 1, the pending mark - 1, a changed post marked
    dirty for the flush; a call that changed nothing (`delta` 0) leaves every value as it was
    (only TTLs renewed)."""
    await redis_scripts.script(redis, _BEGIN)(
        keys=[redis_keys.post_like_pending(post_id), redis_keys.post_like_version(post_id)],
        args=[GUARD_TTL_SECONDS],
    )
    change = LikeChange()
    try:
        yield change
    finally:
        delta = "unknown" if change.delta is None else change.delta
        await redis_scripts.script(redis, _FINISH)(
            keys=[*_post_keys(post_id), redis_keys.LIKE_COUNTS_DIRTY],
            args=[delta, post_id, GUARD_TTL_SECONDS],
        )


async def start_like_count(redis: Redis, post_id: int) -> None:
    """A newly published post starts at 0: only if no counter exists and no like or unlike of
    it has begun (one liked at once after its publish is recounted instead). Call right after
    the publish commits."""
    await fill_like_counts(redis, {post_id: (0, None)})


async def read_like_counts(redis: Redis, post_ids: Sequence[int]) -> list[LikeCounter]:
    """The counters with their versions and pending marks, in one round trip."""
    if not post_ids:
        return []
    return like_counters(await redis.mget(like_count_keys(post_ids)))


def like_count_keys(post_ids: Sequence[int]) -> list[str]:
    """Per post, in order: its counter's key, its version's, its pending mark's (for a script
    that reads them all: see like_counters)."""
    return [key for post_id in post_ids for key in _post_keys(post_id)]


def like_counters(values: Sequence[bytes | None]) -> list[LikeCounter]:
    """The counters of an MGET of like_count_keys."""
    return [
        LikeCounter(
            int(value) if value is not None else None,
            version,
            int(pending) if pending is not None else 0,
        )
        for value, version, pending in zip(values[::3], values[1::3], values[2::3], strict=True)
    ]


async def fill_like_counts(redis: Redis, recounts: dict[int, tuple[int, bytes | None]]) -> None:
    """Store recounted values, each `(count, version read before recounting)`, where no counter
    exists and the version has not moved; call only for counters read `refillable` (never
    overwrites a live counter, never stores a count a like or unlike has outdated). One round
    trip; one script call per post."""
    if not recounts:
        return
    script = redis_scripts.script(redis, _FILL_IF_UNCHANGED)
    async with redis.pipeline(transaction=False) as pipe:
        for post_id, (count, version) in recounts.items():
            await script(
                keys=_post_keys(post_id)[:2],
                args=[count, version or b"0", COUNTER_TTL_SECONDS],
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
