"""Which backing service an exception says is down: the drivers' many error classes, read in
one place so that the API can answer SERVICE_UNAVAILABLE (not INTERNAL_SERVER_ERROR, and never
the driver's message, which names internal addresses) when Redis or PostgreSQL does not answer.
"""

from __future__ import annotations

from typing import Literal

import asyncpg
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

Service = Literal["redis", "postgres"]


class DatabaseUnreachableError(Exception):
    """A new PostgreSQL connection could not be made (refused, no socket, no answer in time).

    asyncpg raises the operating system's error (`ConnectionRefusedError`, `FileNotFoundError`
    for a missing unix socket, ...), which says nothing about which service failed: the pool's
    connect function (storage.pg.create_pool) raises this instead, from that error."""


_REDIS_DOWN = (RedisConnectionError, RedisTimeoutError)
"""Refused, reset, or no answer within the client's timeout (storage.redis_client); redis-py
wraps the operating system's errors in these."""

_POSTGRES_DOWN = (
    DatabaseUnreachableError,
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08: the connection failed or is gone
    asyncpg.CannotConnectNowError,  # starting up, shutting down, in recovery
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)


def unavailable_service(error: BaseException) -> Service | None:
    """`"redis"` or `"postgres"` when `error` (or an error it was raised from) says that service
    could not be reached or did not answer in time; None for any other error. Pure."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _REDIS_DOWN):
            return "redis"
        if isinstance(current, _POSTGRES_DOWN):
            return "postgres"
        current = current.__cause__
    return None
