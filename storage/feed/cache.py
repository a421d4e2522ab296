"""Home feeds in Redis: one sorted set per user, `feed:{user_id}` (storage.redis_keys.feed).

Members are post ids scored by publish time in milliseconds since the epoch, with the microseconds
as the fraction (`micros / 1000`: a double keeps every microsecond, round trip included, until
the year 2109, so the cache orders posts exactly as PostgreSQL does). Two bookkeeping members
share the set:

- `h` (the horizon), in a *live* feed: the cache holds every entry it should hold with a score
  strictly above the horizon's score, and no post at or below it. Readers trust the cache above
  the horizon only and ask PostgreSQL for anything older. Trimming to the newest `max_entries`
  (once a feed has grown an eighth over) raises the horizon; 0 means "complete since the epoch".
- `b` (building), in a feed being rebuilt from PostgreSQL: it makes the key exist, so that
  fan-out writes landing during the rebuild are kept, while readers do not trust it yet.

A missing key means an inactive user: fan-out skips them and the next read rebuilds the feed.
Writes never extend the TTL (reads do). Every write is one server-side Lua script call.

Redis Cluster: a script may only touch keys it declares, of one hash slot (each feed key is
tagged by its user id, so a user's keys share a slot, but a fan-out batch spans many users).
`merge_entries` sends user ids rather than keys by default (fast, and fine on one Redis); under
Cluster, call it with `declare_keys=True` once per group of `group_by_slot`, or, cheaper, group
by node and prefix the scripts with `#!lua flags=allow-cross-slot-keys` (Redis/Valkey 7+),
which permits declared keys of different slots on the same node.
"""

from __future__ import annotations

import struct
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import cast

import numpy as np
import numpy.typing as npt
from redis.asyncio import Redis
from redis.crc import key_slot

from storage import redis_keys, redis_scripts
from storage.counters import LikeCounter, like_count_keys, like_counters
from storage.feed.keys import FeedKey
from storage.ranker_log import (
    LOG_SNAPSHOT_PAGE_LUA,
    ServedPage,
    SnapshotPageLog,
    queue_served_page,
    queue_window_features,
    snapshot_page_script_args,
    snapshot_page_script_keys,
)

HORIZON = "h"
BUILDING = "b"
BUILDING_TTL_SECONDS = 60
"""A rebuild that crashed leaves its placeholder for at most this long."""

# Shared by every writing script. merge(key, entries, max) adds the parsed (score, member) pairs
# to a live feed, first raising the horizon to `entries.above` when that is higher; to a
# building feed it adds them all. Returns the number of members added. trim() lets a feed
# grow by an eighth over `max` before cutting it back to `max` (with the horizon raised to the
# newest entry cut), so that full feeds pay the cut once per many inserts. Feeds of up to 64
# entries (tests) are checked and cut exactly on every insert.
_LUA_MERGE = """
local call, tonumber = redis.call, tonumber

local function trim(key, max)
  local n = call('ZCARD', key) - 1
  if n > max + (max < 64 and 0 or math.floor(max / 8)) then
    local cut = call('ZRANGE', key, n - max, n - max, 'WITHSCORES')
    call('ZREMRANGEBYSCORE', key, '-inf', cut[2])
    call('ZADD', key, cut[2], 'h')
  end
end

-- The entries from ARGV[first] on, parsed once per call: {above (string), above (number),
-- scores (strings), scores (numbers), members, whether to check the size after adding}.
-- A single post (a fan-out) checks the size for one post id in eight only: one command less
-- per feed; a full feed then overshoots by a few entries until the next check.
local function parse(above, first, max)
  local e = {above = above, above_n = tonumber(above), s = {}, n = {}, m = {}}
  for j = first, #ARGV, 2 do
    e.s[#e.s + 1] = ARGV[j]
    e.n[#e.n + 1] = tonumber(ARGV[j])
    e.m[#e.m + 1] = ARGV[j + 1]
  end
  e.check = #e.m > 1 or max < 64 or (#e.m == 1 and tonumber(e.m[1]) % 8 == 0)
  return e
end

local function merge(key, e, max)
  local added = 0
  local h = call('ZSCORE', key, 'h')
  if h then
    local floor = tonumber(h)
    if e.above_n > floor then
      call('ZREMRANGEBYSCORE', key, '-inf', e.above)
      call('ZADD', key, e.above, 'h')
      floor = e.above_n
    end
    for j = 1, #e.m do
      if e.n[j] > floor then
        added = added + call('ZADD', key, e.s[j], e.m[j])
      end
    end
    if added > 0 and e.check then trim(key, max) end
  elseif call('EXISTS', key) == 1 then
    for j = 1, #e.m do
      added = added + call('ZADD', key, e.s[j], e.m[j])
    end
  end
  return added
end
"""

# The feeds: KEYS, then the user ids packed in ARGV[1] ("12,13,...") with the key format in
# ARGV[2] and ARGV[3]. ARGV[4]: max entries, ARGV[5]: complete-above score, then score, member
# pairs. Sending ids instead of keys spares the Python client most of the command encoding,
# its bottleneck; undeclared keys are fine on a single Redis, not under Cluster (see above).
_MERGE_SCRIPT = (
    _LUA_MERGE
    + """
local max = tonumber(ARGV[4])
local entries = parse(ARGV[5], 6, max)
local written = 0
for i = 1, #KEYS do
  written = written + merge(KEYS[i], entries, max)
end
local prefix, suffix = ARGV[2], ARGV[3]
for id in string.gmatch(ARGV[1], '%d+') do
  written = written + merge(prefix .. id .. suffix, entries, max)
end
return written
"""
)

# KEYS[1]: feed. ARGV: max entries, horizon score, ttl, then score, member pairs. Installs a
# new horizon (higher or lower) with every entry above it, on a live or building feed.
_INSTALL_SCRIPT = (
    _LUA_MERGE
    + """
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then return -1 end
redis.call('ZREM', key, 'b', 'h')
redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[2])
redis.call('ZADD', key, ARGV[2], 'h')
local max = tonumber(ARGV[1])
local added = merge(key, parse(ARGV[2], 4, max), max)
redis.call('EXPIRE', key, ARGV[3])
return added
"""
)

# ARGV: packed user ids, key prefix, key suffix, max entries, horizon score, ttl, then pairs.
_CREATE_SCRIPT = (
    _LUA_MERGE
    + """
local max = tonumber(ARGV[4])
local entries = parse(ARGV[5], 7, max)
local created = 0
for id in string.gmatch(ARGV[1], '%d+') do
  local key = ARGV[2] .. id .. ARGV[3]
  if redis.call('EXISTS', key) == 0 then
    redis.call('ZADD', key, ARGV[5], 'h')
    merge(key, entries, max)
    redis.call('EXPIRE', key, ARGV[6])
    created = created + 1
  end
end
return created
"""
)

_START_REBUILD_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('ZADD', KEYS[1], 0, 'b')
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
"""

# KEYS[1]: feed, KEYS[2] (optional): the feed's impressions (record_impressions). ARGV: max
# score (inclusive), count, ttl. {0, 0, {}, shown}: missing, {1, 0, {}, shown}: building,
# {2, horizon, {member, score, ...}, shown}: live (and its TTL refreshed); shown: the members
# of KEYS[2] ({} without it).
_READ_SCRIPT = """
local shown = {}
if KEYS[2] then shown = redis.call('ZRANGE', KEYS[2], 0, -1) end
local h = redis.call('ZSCORE', KEYS[1], 'h')
if not h then return {redis.call('EXISTS', KEYS[1]), 0, {}, shown} end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {2, h, redis.call('ZREVRANGEBYSCORE', KEYS[1], ARGV[1], '(' .. h,
                        'WITHSCORES', 'LIMIT', 0, ARGV[2]), shown}
"""


class FeedState(Enum):
    MISSING = "MISSING"
    """No feed: an inactive user, or expired, evicted or flushed."""
    BUILDING = "BUILDING"
    """A rebuild is under way; not to be trusted yet."""
    LIVE = "LIVE"


@dataclass(frozen=True, slots=True)
class FeedWindow:
    """What one read of a feed returned."""

    state: FeedState
    horizon_micros: int
    """LIVE only: the cache is exact strictly above this time (0: since the epoch)."""
    entries: list[FeedKey]
    """LIVE only: entries at or below the requested bound and above the horizon, newest first
    (entries with the same score come in an arbitrary order: sort by FeedKey)."""
    shown: frozenset[int] = frozenset()
    """The posts the feed has shown the user (record_impressions); read only when asked for
    (read_window's `with_shown`), else empty."""


def score_of(micros: int) -> str:
    """The sorted-set score of a publish time: milliseconds, microseconds as the fraction."""
    return repr(micros / 1000)


def micros_of_score(score: bytes | str | float) -> int:
    """Inverse of score_of (exact until 2109, see the module docstring)."""
    return round(float(score) * 1000)


async def read_window(
    redis: Redis,
    user_id: int,
    *,
    at_most: FeedKey | None,
    count: int,
    ttl_seconds: int,
    with_shown: bool = False,
) -> FeedWindow:
    """Up to `count` entries of the user's feed with a score at or below `at_most`'s (all when
    None), newest first; `with_shown`: with the posts the feed has shown the user (what
    shown_before reads), in the same round trip. Side effect: a live feed's TTL is reset to
    `ttl_seconds`."""
    script = redis_scripts.script(redis, _READ_SCRIPT)
    max_score = "+inf" if at_most is None else score_of(at_most[0])
    keys = [redis_keys.feed(user_id)]
    if with_shown:
        keys.append(redis_keys.feed_impressions(user_id))
    reply = cast(list[object], await script(keys=keys, args=[max_score, count, ttl_seconds]))
    shown = frozenset(map(int, cast(list[bytes], reply[3])))
    if reply[0] == 0:
        return FeedWindow(FeedState.MISSING, 0, [], shown)
    if reply[0] == 1:
        return FeedWindow(FeedState.BUILDING, 0, [], shown)
    horizon = cast(bytes, reply[1])
    flat = cast(list[bytes], reply[2])
    entries = [(micros_of_score(flat[i + 1]), int(flat[i])) for i in range(0, len(flat), 2)]
    return FeedWindow(FeedState.LIVE, micros_of_score(horizon), entries, shown)


def _pairs(entries: Iterable[FeedKey]) -> list[str]:
    args = []
    for micros, post_id in entries:
        args += [score_of(micros), str(post_id)]
    return args


async def merge_entries(
    redis: Redis,
    user_ids: Sequence[int],
    entries: Sequence[FeedKey],
    *,
    max_entries: int,
    complete_above: int = 0,
    declare_keys: bool = False,
) -> int:
    """Add `entries` to the feeds of `user_ids` that exist, in ONE script call; missing feeds
    (inactive users) are skipped. Returns how many (feed, post) members were added (0 for a
    repeat: a retried call changes nothing).

    In a live feed, entries at or below the horizon are not added (the cache does not claim
    them). `complete_above` (a time in microseconds): the entries are every post the feeds
    should get above that time, but possibly not below it: the horizon is raised to it. Each
    feed is then trimmed to its newest `max_entries` (once it has grown an eighth over). TTLs
    are left as they are. `declare_keys`: pass the keys as KEYS (required under Redis Cluster,
    with every user id in one slot, see `group_by_slot`); else the ids are sent packed.
    """
    if not user_ids or not entries:
        return 0
    script = redis_scripts.script(redis, _MERGE_SCRIPT)
    prefix, suffix = redis_keys.FEED_KEY_AFFIXES
    keys = [redis_keys.feed(user_id) for user_id in user_ids] if declare_keys else []
    packed = "" if declare_keys else ",".join(map(str, user_ids))
    args = [packed, prefix, suffix, str(max_entries), score_of(complete_above), *_pairs(entries)]
    return cast(int, await script(keys=keys, args=args))


async def start_rebuild(redis: Redis, user_id: int) -> bool:
    """Mark a missing feed as being rebuilt (so that fan-out writes it from now on); False when
    the feed exists already (live, or another rebuild under way)."""
    script = redis_scripts.script(redis, _START_REBUILD_SCRIPT)
    started = await script(keys=[redis_keys.feed(user_id)], args=[BUILDING_TTL_SECONDS])
    return cast(int, started) == 1


async def install_feed(
    redis: Redis,
    user_id: int,
    entries: Sequence[FeedKey],
    *,
    horizon_micros: int,
    max_entries: int,
    ttl_seconds: int,
) -> bool:
    """Write a feed (re)built from PostgreSQL: `entries` are every post the feed should hold
    newer than `horizon_micros` (0: all of them). Works on a building feed (after
    start_rebuild; entries fanned out meanwhile are kept) and on a live one (a refill that
    moves its horizon). Makes it live with a TTL of `ttl_seconds`. False (nothing written) when
    the key has vanished meanwhile (expired or flushed): the next read rebuilds again."""
    script = redis_scripts.script(redis, _INSTALL_SCRIPT)
    args = [str(max_entries), score_of(horizon_micros), str(ttl_seconds), *_pairs(entries)]
    result = await script(keys=[redis_keys.feed(user_id)], args=args)
    return cast(int, result) >= 0


async def feed_exists(redis: Redis, user_id: int) -> bool:
    """Whether the user has a feed (live or building), i.e. is active."""
    return bool(await redis.exists(redis_keys.feed(user_id)))


async def create_live_feeds(
    redis: Redis,
    user_ids: Sequence[int],
    entries: Sequence[FeedKey],
    *,
    horizon_micros: int,
    max_entries: int,
    ttl_seconds: int,
) -> int:
    """Make the feeds of those `user_ids` that have none live, each with the same `entries`
    (above `horizon_micros`), in one script call: for benchmarks and tests that need many
    active users. Returns how many feeds were created."""
    script = redis_scripts.script(redis, _CREATE_SCRIPT)
    prefix, suffix = redis_keys.FEED_KEY_AFFIXES
    args = [
        ",".join(map(str, user_ids)),
        prefix,
        suffix,
        str(max_entries),
        score_of(horizon_micros),
        str(ttl_seconds),
        *_pairs(entries),
    ]
    return cast(int, await script(keys=[], args=args))


async def remove_posts(redis: Redis, user_id: int, post_ids: Sequence[int]) -> int:
    """Remove these posts from one feed (an unfollow, a deletion); returns how many were there.
    The horizon stays: the cache still holds everything it should above it."""
    if not post_ids:
        return 0
    removed = redis.zrem(redis_keys.feed(user_id), *[str(post_id) for post_id in post_ids])
    return await cast(Awaitable[int], removed)


def group_by_slot(user_ids: Iterable[int]) -> dict[int, list[int]]:
    """User ids grouped by the Redis Cluster hash slot of their feed key, order kept within a
    group: under Cluster, call merge_entries once per group (or per node, see the module doc)."""
    groups: dict[int, list[int]] = {}
    for user_id in user_ids:
        slot = key_slot(redis_keys.feed(user_id).encode())
        groups.setdefault(slot, []).append(user_id)
    return groups


# Ranked snapshots: a 16-byte header (the candidate window's oldest key, or zeros when the
# window held the whole feed), then the ranked post ids, 8 bytes each, big-endian.
_HEADER = struct.Struct(">qq")
_ID = struct.Struct(">q")


@dataclass(frozen=True, slots=True)
class SnapshotSlice:
    ids: list[int]
    """The ids from the requested offset on (as many as asked, fewer at the end)."""
    total: int
    """How many ids the snapshot holds."""
    window_tail: FeedKey | None
    """The oldest key of the ranked window when older posts may exist below it."""


_RECORD_IMPRESSIONS_SCRIPT = """
local key, now_ms, keep, ttl = KEYS[1], ARGV[1], tonumber(ARGV[2]), ARGV[3]
local excess = redis.call('ZCARD', key) + (#ARGV - 3) - keep
if excess > 0 then
    redis.call('ZREMRANGEBYRANK', key, 0, excess - 1)
end
for i = 4, #ARGV do
    redis.call('ZADD', key, 'NX', now_ms, ARGV[i])
end
redis.call('EXPIRE', key, ttl)
return redis.call('MGET', unpack(KEYS, 2))
"""


_RECORD_IMPRESSIONS_AND_LOG_SCRIPT = (
    LOG_SNAPSHOT_PAGE_LUA
    + """
local count = tonumber(ARGV[4])
local key, now_ms, keep, ttl = KEYS[1], ARGV[1], tonumber(ARGV[2]), ARGV[3]
local excess = redis.call('ZCARD', key) + count - keep
if excess > 0 then
    redis.call('ZREMRANGEBYRANK', key, 0, excess - 1)
end
for i = 5, 4 + count do
    redis.call('ZADD', key, 'NX', now_ms, ARGV[i])
end
redis.call('EXPIRE', key, ttl)
log_snapshot_page(KEYS[2], KEYS[3], KEYS[4], 5 + count)
return redis.call('MGET', unpack(KEYS, 5))
"""
)
"""_RECORD_IMPRESSIONS_SCRIPT that also logs a page served from a RANKED snapshot
(storage.ranker_log.LOG_SNAPSHOT_PAGE_LUA)."""


async def record_impressions(
    redis: Redis,
    user_id: int,
    post_ids: Sequence[int],
    *,
    now_ms: int,
    keep: int,
    ttl_seconds: int,
    served: SnapshotPageLog | None = None,
) -> list[LikeCounter]:
    """Remember that the user's feed showed them these posts (a post keeps the time it was
    first shown), and return the posts' like counters with their versions, read in the same
    script call (what storage.counters.read_like_counts returns: a page shown is a page whose
    counts are read).

    Side effects, one script call: the oldest impressions make room first, so the set never
    holds more than `keep` (at or under Redis's compact-encoding limit, 128, it stays compact);
    then it gains the posts and expires `ttl_seconds` after this write; with `served` (a page
    served from a RANKED snapshot), that page is logged too, in the same script call
    (storage.ranker_log.LOG_SNAPSHOT_PAGE_LUA). (Under Redis Cluster the counters of a page
    span slots, as they do for read_like_counts' MGET.)"""
    if not post_ids:
        return []
    if served is not None:
        script = redis_scripts.script(redis, _RECORD_IMPRESSIONS_AND_LOG_SCRIPT)
        counters = await script(
            keys=[
                redis_keys.feed_impressions(user_id),
                *snapshot_page_script_keys(served),
                *like_count_keys(post_ids),
            ],
            args=[
                now_ms,
                keep,
                ttl_seconds,
                len(post_ids),
                *post_ids,
                *snapshot_page_script_args(served),
            ],
        )
        return like_counters(counters)
    script = redis_scripts.script(redis, _RECORD_IMPRESSIONS_SCRIPT)
    counters = await script(
        keys=[redis_keys.feed_impressions(user_id), *like_count_keys(post_ids)],
        args=[now_ms, keep, ttl_seconds, *post_ids],
    )
    return like_counters(counters)


async def save_ranked_snapshot(
    redis: Redis,
    user_id: int,
    snapshot_id: str,
    ids: Sequence[int],
    *,
    window_tail: FeedKey | None,
    ttl_seconds: int,
    served: ServedPage | None = None,
    window_rows: npt.NDArray[np.float64] | None = None,
) -> None:
    """Store the ranked order of one paging session, and log `served` (the page served from
    it: storage.ranker_log.queue_served_page) with, when given, the whole window's feature
    rows (`window_rows`, in snapshot order, for the later pages' logs:
    storage.ranker_log.queue_window_features), in the same round trip. Side effects: one key
    with a TTL (two with the window's rows); the served page's log entries."""
    header = _HEADER.pack(*(window_tail or (0, 0)))
    body = struct.pack(f">{len(ids)}q", *ids)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.set(
            redis_keys.feed_ranked_snapshot(user_id, snapshot_id), header + body, ex=ttl_seconds
        )
        if served is not None:
            queue_served_page(pipe, served)
            if window_rows is not None:
                queue_window_features(
                    pipe,
                    user_id,
                    snapshot_id,
                    served.model_version,
                    served.arm,
                    window_rows,
                    ttl_seconds,
                )
        await pipe.execute()


async def read_ranked_snapshot(
    redis: Redis, user_id: int, snapshot_id: str, *, offset: int, count: int
) -> SnapshotSlice | None:
    """`count` ids of a snapshot from `offset` (one round trip); None when it has expired."""
    key = redis_keys.feed_ranked_snapshot(user_id, snapshot_id)
    start = _HEADER.size + offset * _ID.size
    async with redis.pipeline(transaction=False) as pipe:
        pipe.getrange(key, 0, _HEADER.size - 1)
        pipe.getrange(key, start, start + count * _ID.size - 1)
        pipe.strlen(key)
        header, body, length = await pipe.execute()
    if len(header) < _HEADER.size:
        return None
    tail = _HEADER.unpack(header)
    return SnapshotSlice(
        ids=[value for (value,) in _ID.iter_unpack(body)] if count > 0 else [],
        total=(length - _HEADER.size) // _ID.size,
        window_tail=None if tail == (0, 0) else (tail[0], tail[1]),
    )
