"""Redis or PostgreSQL down under a running app (a real Valkey or PostgreSQL of the test's own,
paused with SIGSTOP or stopped): requests answer quickly with SERVICE_UNAVAILABLE and the request
id, never the server's address; the outage is logged once as an error; /readyz says not ready
without hanging; and everything works again once the server is back."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from execution.operation_scope import SERVICE_UNAVAILABLE_MESSAGE
from resources import Resources
from settings import Settings
from storage.embedded import EmbeddedPostgres, start_postgres
from storage.pg.migrate import apply_migrations
from tests.api.configured import app_with
from tests.conftest import LiveApp, free_port
from tests.servers import RestartableValkey

REDIS_TIMEOUT_SECONDS = 1.0
ANSWER_WITHIN_SECONDS = REDIS_TIMEOUT_SECONDS + 5.0
"""The client timeout plus slack for a busy 2-core machine: still below the test client's own
10 s timeout, and far below "hangs" (a paused Redis never answers)."""
READY_WITHIN_SECONDS = 20.0
QUERY = "{ viewer { id } }"
GRAPHQL_RESPONSE = "application/graphql-response+json"


@pytest.fixture
async def valkey(tmp_path: Path) -> AsyncIterator[RestartableValkey]:
    server = RestartableValkey(tmp_path / "valkey", free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def on_own_redis(
    settings: Settings, resources: Resources, valkey: RestartableValkey
) -> AsyncIterator[LiveApp]:
    """The app on the test's Valkey (and the session's PostgreSQL)."""
    async with app_with(
        settings,
        resources,
        redis_url=valkey.url,
        redis_timeout_seconds=REDIS_TIMEOUT_SECONDS,
    ) as app:
        yield app


async def post(app: LiveApp, query: str, accept: str = GRAPHQL_RESPONSE) -> httpx.Response:
    return await app.http.post("/graphql", json={"query": query}, headers={"accept": accept})


async def timed(request: Any) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response: httpx.Response = await request
    return response, time.monotonic() - started


def assert_unavailable(response: httpx.Response, *, media_type: str, port: int) -> str:
    """A 503 SERVICE_UNAVAILABLE carrying the request id and nothing about the server; returns
    the request id."""
    request_id = response.headers["x-request-id"]
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == media_type
    assert response.json() == {
        "errors": [
            {
                "message": SERVICE_UNAVAILABLE_MESSAGE,
                "extensions": {"code": "SERVICE_UNAVAILABLE", "requestId": request_id},
            }
        ]
    }
    assert "127.0.0.1" not in response.text
    assert str(port) not in response.text
    return request_id


def outage_lines(caplog: pytest.LogCaptureFixture, request_id: str) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno == logging.ERROR and request_id in record.getMessage()
    ]


async def assert_not_ready(app: LiveApp, down: str) -> None:
    response, elapsed = await timed(app.http.get("/readyz"))
    assert elapsed < ANSWER_WITHIN_SECONDS
    assert response.status_code == 503
    up = "redis" if down == "postgres" else "postgres"
    assert response.json() == {"status": "not ready", down: "unavailable", up: "ok"}


async def wait_until_ready(app: LiveApp) -> None:
    """Until /readyz answers 200 (the server is back), at most READY_WITHIN_SECONDS."""
    async with asyncio.timeout(READY_WITHIN_SECONDS):
        while (await app.http.get("/readyz")).status_code != 200:  # noqa: ASYNC110 (HTTP poll)
            await asyncio.sleep(0.05)


async def assert_works(app: LiveApp) -> None:
    response = await post(app, QUERY)
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"viewer": None}
    assert "errors" not in response.json()


async def test_a_paused_redis_gets_a_quick_503_and_things_work_once_it_resumes(
    on_own_redis: LiveApp, valkey: RestartableValkey, caplog: pytest.LogCaptureFixture
) -> None:
    await assert_works(on_own_redis)
    with caplog.at_level(logging.WARNING), valkey.paused():
        response, elapsed = await timed(post(on_own_redis, QUERY))
        assert elapsed < ANSWER_WITHIN_SECONDS, f"answered after {elapsed:.1f} s"
        request_id = assert_unavailable(response, media_type=GRAPHQL_RESPONSE, port=valkey.port)
        [line] = outage_lines(caplog, request_id)
        assert line.startswith("redis unavailable"), line
        await assert_not_ready(on_own_redis, down="redis")
    await wait_until_ready(on_own_redis)
    await assert_works(on_own_redis)


async def test_a_stopped_redis_gets_a_503_and_things_work_once_it_restarts(
    on_own_redis: LiveApp, valkey: RestartableValkey, caplog: pytest.LogCaptureFixture
) -> None:
    await assert_works(on_own_redis)
    valkey.stop()
    with caplog.at_level(logging.WARNING):
        response, elapsed = await timed(post(on_own_redis, QUERY))
        assert elapsed < ANSWER_WITHIN_SECONDS
        request_id = assert_unavailable(response, media_type=GRAPHQL_RESPONSE, port=valkey.port)
        [line] = outage_lines(caplog, request_id)
        assert line.startswith("redis unavailable"), line
        # application/json clients get the same answer (as for THROTTLED: not a GraphQL error
        # of their document, but the service's state).
        plain = await post(on_own_redis, QUERY, accept="application/json")
        assert_unavailable(plain, media_type="application/json", port=valkey.port)
        # A persisted-query lookup (a Redis read before the operation) is answered alike.
        persisted = await on_own_redis.http.get(
            "/graphql",
            params={
                "extensions": '{"persistedQuery": {"version": 1, "sha256Hash": "' + "0" * 64 + '"}}'
            },
            headers={"accept": GRAPHQL_RESPONSE},
        )
        persisted_id = assert_unavailable(persisted, media_type=GRAPHQL_RESPONSE, port=valkey.port)
        assert len(outage_lines(caplog, persisted_id)) == 1
        await assert_not_ready(on_own_redis, down="redis")
    valkey.start()
    await wait_until_ready(on_own_redis)
    await assert_works(on_own_redis)


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    server = start_postgres(tmp_path / "postgres", database="outage")
    try:
        apply_migrations(server.url)
        yield server
    finally:
        server.stop()


async def test_a_stopped_postgres_gets_service_unavailable_and_things_work_once_it_restarts(
    settings: Settings,
    resources: Resources,
    own_postgres: EmbeddedPostgres,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    user_query = '{ user(username: "nobody") { id } }'
    async with app_with(settings, resources, database_url=own_postgres.url) as app:
        response = await post(app, user_query)
        assert response.json() == {"data": {"user": None}}
        own_postgres.stop()
        try:
            with caplog.at_level(logging.WARNING):
                response, elapsed = await timed(post(app, user_query))
                assert elapsed < ANSWER_WITHIN_SECONDS
                # A field failing so keeps the response's data (GraphQL over HTTP: a 200).
                assert response.status_code == 200
                request_id = response.headers["x-request-id"]
                assert response.json() == {
                    "data": {"user": None},
                    "errors": [
                        {
                            "message": SERVICE_UNAVAILABLE_MESSAGE,
                            "locations": [{"line": 1, "column": 3}],
                            "path": ["user"],
                            "extensions": {"code": "SERVICE_UNAVAILABLE", "requestId": request_id},
                        }
                    ],
                }
                assert str(tmp_path) not in response.text
                [line] = outage_lines(caplog, request_id)
                assert line.startswith("postgres unavailable"), line
                await assert_not_ready(app, down="postgres")
        finally:
            restarted = start_postgres(tmp_path / "postgres", database="outage")
        assert restarted.url == own_postgres.url
        await wait_until_ready(app)
        response = await post(app, user_query)
        assert response.json() == {"data": {"user": None}}
