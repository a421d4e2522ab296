"""Session fixtures: real PostgreSQL and Valkey, migrated once; per-test isolation by rollback
(service and storage tests) or by truncation (tests through the running app)."""

from __future__ import annotations

import logging
import shutil
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
import structlog
from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.worker import Worker

from app import create_app
from logs import set_request_id
from resources import Resources, open_resources
from settings import Settings
from storage.pg.migrate import apply_migrations
from tests import hypothesis_profiles
from tests.servers import serve_app, throwaway_database_url, throwaway_redis_url
from workers import build_worker

hypothesis_profiles.register_profiles()
HYPOTHESIS_SEED = pytest.StashKey[int]()


def pytest_configure(config: pytest.Config) -> None:
    """Pick this run's base seed of the Hypothesis draws (tests/hypothesis_profiles.py)."""
    profile = config.getoption("--hypothesis-profile") or hypothesis_profiles.SUITE
    config.stash[HYPOTHESIS_SEED] = hypothesis_profiles.base_seed(profile)


def pytest_report_header(config: pytest.Config) -> str:
    profile = config.getoption("--hypothesis-profile") or hypothesis_profiles.SUITE
    if config.getoption("--hypothesis-seed") is not None:
        return f"hypothesis: profile {profile}, --hypothesis-seed (no example database)"
    seed = config.stash[HYPOTHESIS_SEED]
    return f"hypothesis: profile {profile}, {hypothesis_profiles.SEED_VARIABLE}={seed}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Seed every Hypothesis test from this run's base seed, unless `--hypothesis-seed` (which
    turns the example database off) asks for Hypothesis's own seeding."""
    if config.getoption("--hypothesis-seed") is None:
        hypothesis_profiles.seed_hypothesis_tests(items, config.stash[HYPOTHESIS_SEED])


@pytest.fixture(scope="session")
def service_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    tmp = tmp_path_factory.mktemp("servers")
    with throwaway_database_url(tmp) as database_url, throwaway_redis_url(tmp) as redis_url:
        apply_migrations(database_url)
        yield database_url, redis_url


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def live_port() -> int:
    """The loopback port the live app will listen on (known early: media URLs are built on it)."""
    return free_port()


@pytest.fixture(scope="session")
def settings(
    service_urls: tuple[str, str], tmp_path_factory: pytest.TempPathFactory, live_port: int
) -> Settings:
    database_url, redis_url = service_urls
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        public_base_url=f"http://127.0.0.1:{live_port}",
        media_job_timeout_seconds=20,
        data_dir=tmp_path_factory.mktemp("data"),
        secret_key="test-secret-key-of-at-least-32-bytes-length",
        # Cheap hashing keeps the suite fast; the production cost is a setting like any other.
        password_hash_time_cost=1,
        password_hash_memory_kib=1024,
        # Responses stay exactly what the tests assert; tests/api/test_query_limits.py serves
        # apps with the cost report on (the default).
        query_cost_in_extensions=False,
        count_sql_statements=True,  # tests assert statements per request
    )


GATHERED_PER_RECORD = ("_srcfile", "logThreads", "logProcesses", "logMultiprocessing")


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide state: put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    gathered = {name: getattr(logging, name) for name in GATHERED_PER_RECORD}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, value in gathered.items():
        setattr(logging, name, value)
    structlog.reset_defaults()
    set_request_id(None)


@pytest.fixture(scope="session")
async def resources(settings: Settings) -> AsyncIterator[Resources]:
    async with open_resources(settings) as opened:
        yield opened


@pytest.fixture(autouse=True)
async def empty_redis_afterwards(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """After each test that used the session's Redis through `resources`, empty it: throttles,
    denylist, rate limits, feeds, counters and queued jobs do not reach the next test (`queue`
    empties it too). Torn down after every other fixture of the test (autouse fixtures are set
    up first); `resources` is looked up only then, when the test has already made it (asking
    for it before would set up an async fixture inside the running loop)."""
    yield
    if "resources" in request.fixturenames:
        resources: Resources = request.getfixturevalue("resources")
        await resources.redis.flushdb()


@pytest.fixture
async def conn(resources: Resources) -> AsyncIterator[asyncpg.Connection]:
    """A connection inside a transaction that is rolled back after the test; the Redis database
    (throttles, denylist, rate limits, feeds, counters) is emptied before and after (as for
    `empty_redis_afterwards`), so that no test depends on what an earlier one left there."""
    await resources.redis.flushdb()
    async with resources.db.acquire() as connection:
        transaction = connection.transaction()
        await transaction.start()
        try:
            yield connection
        finally:
            await transaction.rollback()
            await resources.redis.flushdb()


TEARDOWN_LOCK_WAIT = "30s"
"""How long emptying the tables waits for a transaction that outlived its test."""


async def reset_state(resources: Resources) -> None:
    """Empty every table, the Redis database and the media folder (for tests that commit)."""
    tables = await resources.db.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        " AND tablename NOT LIKE '\\_yoyo%' AND tablename <> 'yoyo_lock'"
    )
    names = ", ".join(f'"{row["tablename"]}"' for row in tables)
    try:
        await _truncate(resources.db, names)
    except asyncpg.LockNotAvailableError:
        # A transaction outlived its test (a request still running after the client gave up,
        # a connection left inside a transaction): end it so the next tests start clean, and
        # fail this one with what it was, rather than hang every later test behind its locks.
        leftovers = await _end_other_transactions(resources.db)
        await _truncate(resources.db, names)
        raise AssertionError(f"transactions still open after the test: {leftovers}") from None
    await resources.redis.flushdb()
    shutil.rmtree(resources.settings.media_dir, ignore_errors=True)


async def _truncate(db: asyncpg.Pool, names: str) -> None:
    async with db.acquire() as connection, connection.transaction():
        await connection.execute(f"SET LOCAL lock_timeout = '{TEARDOWN_LOCK_WAIT}'")
        await connection.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


async def _end_other_transactions(db: asyncpg.Pool) -> list[dict[str, object]]:
    """Terminate every other backend of this database inside a transaction; what they were."""
    rows = await db.fetch(
        """
        SELECT pid, state, now() - xact_start AS open_for, left(query, 300) AS query,
               pg_terminate_backend(pid) AS ended
          FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()
           AND xact_start IS NOT NULL
        """
    )
    return [dict(row) for row in rows]


@pytest.fixture
async def clean(resources: Resources) -> AsyncIterator[Resources]:
    """Resources over empty tables and an empty Redis, for tests whose writes commit (emptied
    again afterwards, so that rolled-back tests start from nothing too)."""
    await reset_state(resources)
    yield resources
    await reset_state(resources)


@pytest.fixture
async def queue(settings: Settings) -> AsyncIterator[ArqRedis]:
    assert settings.redis_url
    pool = await create_pool(RedisSettings.from_dsn(settings.redis_url))
    yield pool
    await pool.flushdb()  # as empty_redis_afterwards: nothing reaches the next test
    await pool.aclose()


@dataclass
class LiveApp:
    """The real app served by uvicorn on a loopback port, with a client for it."""

    base_url: str
    http: httpx.AsyncClient
    resources: Resources

    @property
    def ws_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/graphql"

    async def graphql(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        """POST a GraphQL request; returns the decoded body (asserting a 200)."""
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture(scope="session")
async def live_server(settings: Settings, live_port: int) -> AsyncIterator[tuple[str, Resources]]:
    app = create_app(settings)
    async with serve_app(app, live_port) as base_url:
        yield base_url, app.state.resources


@pytest.fixture
async def live(live_server: tuple[str, Resources]) -> AsyncIterator[LiveApp]:
    base_url, resources = live_server
    await reset_state(resources)
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        yield LiveApp(base_url=base_url, http=http, resources=resources)
    await reset_state(resources)


async def run_worker_until_idle(settings: Settings) -> Worker:
    """Run a burst arq worker (real jobs, real Redis) until the queue is empty."""
    worker = build_worker(settings, burst=True, handle_signals=False)
    try:
        await worker.async_run()
    finally:
        await worker.close()
    return worker
