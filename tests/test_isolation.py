"""Per-test isolation of the session's Redis (issue 24, item 4): what a rolled-back test wrote
to Redis (throttles, denylist, rate limits, feeds) does not reach the tests after it.

The two tests run in file order: the first writes, the second (which does not use `conn`, so
only the clean-up after the first can have emptied Redis) looks."""

from __future__ import annotations

import asyncpg

from resources import Resources

PROBE_KEY = "isolation:left-behind"


async def test_a_rolled_back_test_writes_to_redis(
    conn: asyncpg.Connection, resources: Resources
) -> None:
    assert await resources.redis.set(PROBE_KEY, "1")
    assert await resources.redis.exists(PROBE_KEY) == 1


async def test_the_next_test_does_not_see_it(resources: Resources) -> None:
    assert await resources.redis.exists(PROBE_KEY) == 0
