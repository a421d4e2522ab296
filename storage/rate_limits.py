"""Abuse-limit counters in Redis, kept by the `limits` library (moving-window strategy).

Why the moving window: it is exact. "N per hour" means at most N hits in ANY hour: no burst of
2N around a fixed window's boundary, and no estimate (the sliding-window counter weighs the
previous window's count, so its "remaining" and reset times are approximations). Its price is one
Redis list per (user, action, window) of at most `amount` timestamps, trimmed on every hit and
expiring one window after the last: about a thousand short strings for the busiest liker's day,
nothing for idle users. Its reset time is exact as well: when the oldest entry leaves the window.

Whom a limit counts (`user_id` below) is a user id, or any short string without `/` (a client
address, a digest of a log-in name: see services.login_throttle).

The library stamps entries with this process's clock (`time.time()`), not Redis's: hosts that
share a Redis must keep their clocks in sync (NTP), or windows stretch or shrink by the skew.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

from limits import RateLimitItem
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.util import WindowStats
from redis.asyncio import Redis

from storage import redis_keys

RateLimiter = MovingWindowRateLimiter
"""The limiter this module hands out; build it with `open_rate_limiter`."""

# With a connection pool given, the URI only selects the redis-py flavour: it never connects.
_POOL_ONLY_URI = "async+redis://"


def open_rate_limiter(redis: Redis) -> RateLimiter:
    """A moving-window limiter writing under `ratelimit:` through `redis`'s connection pool.

    The library wraps the pool in a client of its own, which never closes it (redis-py closes
    a pool only if it created it): the pool stays the caller's to close, and no connection is
    opened here. Side effects: none (the library's Lua scripts load on first use, by EVALSHA).
    """
    storage = RedisStorage(
        _POOL_ONLY_URI,
        implementation="redispy",
        key_prefix=redis_keys.RATE_LIMIT_PREFIX,
        # Typed by `limits` as scalar options, but documented and handled: redis-py's
        # `Redis(connection_pool=...)` (limits.aio.storage.redis.redispy.RedispyBridge).
        connection_pool=redis.connection_pool,  # type: ignore[arg-type]
    )
    return MovingWindowRateLimiter(storage)


@dataclass(frozen=True, slots=True)
class RateLimitResult:
    """Whether one more action fits every window; when not, which windows refused and how long
    until all of them have room again."""

    allowed: bool
    retry_after_seconds: float = 0.0
    refused: tuple[RateLimitItem, ...] = ()


async def window_stats(
    limiter: RateLimiter, action: str, user_id: int | str, limit: RateLimitItem
) -> WindowStats:
    """The window's `remaining` count and `reset_time` (epoch seconds at which its oldest entry
    leaves it). Side effects: none."""
    return await limiter.get_window_stats(limit, redis_keys.rate_limit_subject(action, user_id))


async def _read_windows(
    limiter: RateLimiter, subject: str, limits: Sequence[RateLimitItem]
) -> list[WindowStats]:
    # The library's `test` compares the same count from the same Lua read; `get_window_stats`
    # also gives the reset time, so each window costs one round trip (all run concurrently).
    return list(await asyncio.gather(*(limiter.get_window_stats(item, subject) for item in limits)))


def _verdict(limits: Sequence[RateLimitItem], stats: Sequence[WindowStats]) -> RateLimitResult:
    refused = [(item, s) for item, s in zip(limits, stats, strict=True) if s.remaining < 1]
    if not refused:
        return RateLimitResult(allowed=True)
    # A refusal counts nothing, so while the user waits each refusing window only drains: the
    # action fits again when the LAST of them has room, not the first.
    ready_at = max(s.reset_time for _, s in refused)
    return RateLimitResult(
        allowed=False,
        retry_after_seconds=max(0.0, ready_at - time.time()),
        refused=tuple(item for item, _ in refused),
    )


async def check(
    limiter: RateLimiter, action: str, user_id: int | str, limits: Sequence[RateLimitItem]
) -> RateLimitResult:
    """Whether one more action fits every window, counting nothing. Side effects: none."""
    subject = redis_keys.rate_limit_subject(action, user_id)
    return _verdict(limits, await _read_windows(limiter, subject, limits))


async def consume(
    limiter: RateLimiter, action: str, user_id: int | str, limits: Sequence[RateLimitItem]
) -> bool:
    """Count one action in every window that has room; returns whether all of them had.

    For counting an action after it happened (see services.rate_limits.count_action). A full
    window counts nothing (the library's hit is atomic: push only if there is room).
    Side effects: one timestamp pushed on each window's list that has room; TTLs renewed.
    """
    subject = redis_keys.rate_limit_subject(action, user_id)
    accepted = await asyncio.gather(*(limiter.hit(item, subject) for item in limits))
    return all(accepted)


async def hit(
    limiter: RateLimiter, action: str, user_id: int | str, limits: Sequence[RateLimitItem]
) -> RateLimitResult:
    """Check every window first, and only if all have room count one action in each, so that a
    refused action counts nowhere.

    Side effects when allowed: one timestamp pushed on each window's list; TTLs renewed.
    Concurrency: checking and counting are separate steps. Each hit is atomic, so no window ever
    holds more than its limit; but concurrent calls of one user at the very edge can all pass
    the check, and the loser's hit then fails after a roomier window counted it. Hits run
    tightest window first and stop at the first failure, which keeps that over-count rare and
    at most one per concurrent call; the loser is reported refused.
    """
    subject = redis_keys.rate_limit_subject(action, user_id)
    stats = await _read_windows(limiter, subject, limits)
    checked = _verdict(limits, stats)
    if not checked.allowed:
        return checked
    tightest_first = sorted(zip(limits, stats, strict=True), key=lambda pair: pair[1].remaining)
    for item, _ in tightest_first:
        if not await limiter.hit(item, subject):
            lost = await limiter.get_window_stats(item, subject)
            return RateLimitResult(
                allowed=False,
                retry_after_seconds=max(0.0, lost.reset_time - time.time()),
                refused=(item,),
            )
    return RateLimitResult(allowed=True)


async def clear(
    limiter: RateLimiter, action: str, user_id: int | str, limits: Sequence[RateLimitItem]
) -> None:
    """Forget every counted action of `user_id` in these windows.

    Side effects: deletes each window's list (Redis)."""
    subject = redis_keys.rate_limit_subject(action, user_id)
    await asyncio.gather(*(limiter.clear(item, subject) for item in limits))
