"""Throwaway PostgreSQL and Valkey for the test session (or DATABASE_URL / REDIS_URL when set).

With DATABASE_URL set, the session creates its own database there and drops it at the end. With
REDIS_URL set, the tests FLUSH that Redis database between cases: point it at a scratch database.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import redis
import uvicorn
from starlette.types import ASGIApp

from storage.embedded import EmbeddedValkey, start_postgres, start_valkey


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


@dataclass
class RestartableValkey:
    """A Valkey of a test's own on a fixed loopback port: stopped, started again on the same
    port, or paused (SIGSTOP: it accepts connections and never answers) for outage tests."""

    data_dir: Path
    port: int
    server: EmbeddedValkey | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.server = start_valkey(self.data_dir, persist=False, port=self.port)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """SIGSTOP the server for the block; SIGCONT when it ends, whatever happened."""
        with redis.Redis.from_url(self.url, socket_timeout=5) as client:
            pid = int(client.info("server")["process_id"])
        os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(pid, signal.SIGCONT)


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
