"""Per-test isolation of the session's Redis (issue 24, item 4): what a rolled-back test wrote
to Redis (throttles, denylist, rate limits, feeds) does not reach the tests after it.

The two tests run in file order: the first writes, the second (which does not use `conn`, so
only the clean-up after the first can have emptied Redis) looks. The last shows that a transaction
outliving its test is ended and named by the teardown, not left to hang every later test behind
its locks (seen once under `python3 dev.py fuzz`: a TRUNCATE waiting for minutes)."""

from __future__ import annotations

import asyncpg
import pytest

from resources import Resources
from tests import conftest

PROBE_KEY = "isolation:left-behind"


async def test_a_rolled_back_test_writes_to_redis(
    conn: asyncpg.Connection, resources: Resources
) -> None:
    assert await resources.redis.set(PROBE_KEY, "1")
    assert await resources.redis.exists(PROBE_KEY) == 1


async def test_the_next_test_does_not_see_it(resources: Resources) -> None:
    assert await resources.redis.exists(PROBE_KEY) == 0


async def test_a_transaction_left_open_is_ended_and_named_instead_of_hanging_the_next_tests(
    resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(conftest, "TEARDOWN_LOCK_WAIT", "200ms")
    leftover = await asyncpg.connect(resources.settings.database_url)
    try:
        transaction = leftover.transaction()
        await transaction.start()
        await leftover.execute("INSERT INTO hashtags (name) VALUES ('left_open')")
        with pytest.raises(AssertionError, match="left_open"):
            await conftest.reset_state(resources)
        assert await resources.db.fetchval("SELECT count(*) FROM hashtags") == 0
        with pytest.raises((asyncpg.PostgresConnectionError, asyncpg.InterfaceError)):  # ended
            await leftover.execute("SELECT 1")
    finally:
        leftover.terminate()
