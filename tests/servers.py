"""Throwaway PostgreSQL and Valkey for the test session (or DATABASE_URL / REDIS_URL when set).

With DATABASE_URL set, the session creates its own database there and drops it at the end. With
REDIS_URL set, the tests FLUSH that Redis database between cases: point it at a scratch database.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import uvicorn
from starlette.types import ASGIApp

from storage.embedded import start_postgres, start_valkey


@contextlib.contextmanager
def throwaway_database_url(tmp: Path) -> Iterator[str]:
    configured = os.environ.get("DATABASE_URL")
    if not configured:
        server = start_postgres(tmp / "postgres", database="shutter_test")
        try:
            yield server.url
        finally:
            server.stop()
        return
    name = f"shutter_test_{secrets.token_hex(4)}"
    with psycopg.connect(configured, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(configured)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(configured, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@contextlib.contextmanager
def throwaway_redis_url(tmp: Path) -> Iterator[str]:
    configured = os.environ.get("REDIS_URL")
    if configured:
        yield configured
        return
    server = start_valkey(tmp / "valkey", persist=False)
    try:
        yield server.url
    finally:
        server.stop()


@contextlib.asynccontextmanager
async def serve_app(app: ASGIApp, port: int, **options: Any) -> AsyncIterator[str]:
    """Serve `app` with uvicorn on 127.0.0.1:`port` inside the test's event loop (with the
    app's lifespan); yields its base URL and stops it when the block ends."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on", **options)
    )
    # Signals belong to pytest, not to the server under test.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
        if task.done():
            task.result()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
