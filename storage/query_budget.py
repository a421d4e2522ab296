"""Query-cost budgets in Redis: one token bucket per subject (a viewer, or a client address),
spent and refilled by ONE server-side script call per request.

Why a token bucket and not the `limits` library's windows: a query's cost varies from 1 to
thousands of points and the budget must refill continuously (N points per second, up to a
capacity), as Shopify's and GitHub's GraphQL budgets do. A window counts hits in fixed or moving
periods; the bucket needs only two numbers per subject (`points`, `at`), is exact at any instant,
and the time comes from the Redis server (`TIME`), so API hosts with skewed clocks agree.

A request the bucket cannot cover takes nothing from it (the client may retry a cheaper one at
once). The key expires when the bucket would be full again: idle subjects cost no memory.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from redis.asyncio import Redis

from storage import redis_keys, redis_scripts

# KEYS[1] the bucket, KEYS[2] (optional) a revoked-session key; ARGV: capacity, restore rate
# (points/s), cost. Returns {allowed, points} with points as a string (Lua numbers become
# integers in replies; fractions matter here), or {-1, '0'} without spending when KEYS[2] exists.
_SPEND = """
if KEYS[2] and redis.call('EXISTS', KEYS[2]) == 1 then
  return {-1, '0'}
end
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'points', 'at')
local points = tonumber(state[1])
local at = tonumber(state[2])
if points == nil or at == nil then
  points = capacity
else
  points = math.min(capacity, points + math.max(0, now - at) * rate)
end
local allowed = 0
if cost <= points then
  points = points - cost
  allowed = 1
end
if points >= capacity then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'points', tostring(points), 'at', tostring(now))
  redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - points) / rate * 1000) + 1000)
end
return {allowed, tostring(points)}
"""


@dataclass(frozen=True, slots=True)
class BudgetState:
    """The outcome of one spend: whether the cost was taken, and what remains after it."""

    allowed: bool
    available: float
    session_revoked: bool = False
    """The session named in the spend was revoked: nothing was read or taken."""


async def spend_query_points(
    redis: Redis,
    subject: str,
    *,
    cost: int,
    capacity: int,
    restore_rate: int,
    unless_revoked: uuid.UUID | None = None,
) -> BudgetState:
    """Take `cost` points from `subject`'s bucket if it holds that many (a cost of 0 only reads).

    With `unless_revoked`, a session whose revocation (storage.revocations) is checked in the
    same call: when it was revoked, nothing is spent and the state says so (how an HTTP
    request checks its token and pays for its query in one round trip).

    Side effects: one EVALSHA; refills the bucket for the time elapsed, subtracts `cost` when
    allowed, and sets the key to expire when the bucket would be full again (deletes it when
    full already). Subjects are short strings such as `user:42` or `ip:203.0.113.9`.
    """
    script = redis_scripts.script(redis, _SPEND)
    keys = [redis_keys.query_budget(subject)]
    if unless_revoked is not None:
        keys.append(redis_keys.revoked_session(unless_revoked))
    allowed, points = await script(keys=keys, args=[capacity, restore_rate, cost])
    if allowed == -1:
        return BudgetState(allowed=False, available=0.0, session_revoked=True)
    return BudgetState(allowed=bool(allowed), available=float(points))
