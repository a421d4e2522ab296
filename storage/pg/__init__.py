"""PostgreSQL access: the connection pool, transactions, and one module of named queries per table
group. SQL lives only in this package, always with `$n` parameters."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TypeAlias

import asyncpg

Db: TypeAlias = "asyncpg.Pool[asyncpg.Record] | asyncpg.Connection[asyncpg.Record]"
"""Where a query runs: the pool (one pooled connection per call) or a connection (for example one
inside a transaction). Storage functions accept either; services choose."""


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    """Open a connection pool. Side effects: opens `min_size` connections to the server."""
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size)
    assert pool is not None
    return pool


@contextlib.asynccontextmanager
async def transaction(db: Db) -> AsyncIterator[asyncpg.Connection]:
    """Run the block in one transaction and yield its connection.

    On a pool this acquires a connection for the block; on a connection already inside a
    transaction it becomes a savepoint (how the tests isolate each case and roll it back).
    Commits when the block exits normally, rolls back when it raises.
    """
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn, conn.transaction():
            yield conn
    else:
        async with db.transaction():
            yield db
