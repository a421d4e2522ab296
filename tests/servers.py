"""Throwaway PostgreSQL and Valkey for the test session (or DATABASE_URL / REDIS_URL when set).

With DATABASE_URL set, the session creates its own database there and drops it at the end. With
REDIS_URL set, the tests FLUSH that Redis database between cases: point it at a scratch database.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

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
