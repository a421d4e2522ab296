"""PostgreSQL access: the connection pool, transactions, and one module of named queries per table
group. SQL lives only in this package, always with `$n` parameters."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from storage.outages import DatabaseUnreachableError

Connection: TypeAlias = "asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]"
"""One connection, direct or borrowed from the pool."""

Db: TypeAlias = "asyncpg.Pool[asyncpg.Record] | Connection"
"""Where a query runs: the pool (one pooled connection per call) or a connection (for example one
inside a transaction). Storage functions accept either; services choose."""


class PooledConnection(asyncpg.Connection):
    """A pool connection that skips asyncpg's reset query on release.

    The reset (`RESET ALL; UNLISTEN *; CLOSE ALL; advisory unlock`) costs a round trip per
    acquire, i.e. per query on the pool. Shutter keeps no session state on pooled connections
    (no SET, LISTEN, cursors or advisory locks outside a transaction), so there is nothing to reset.
    """

    def get_reset_query(self) -> str:
        return ""


class QueryCounter:
    """Counts the SQL statements sent through a pool (for tests and metrics)."""

    def __init__(self) -> None:
        self.count = 0

    def record(self, _query: object) -> None:
        self.count += 1


async def create_pool(
    dsn: str, *, min_size: int = 2, max_size: int = 10, counter: QueryCounter | None = None
) -> asyncpg.Pool:
    """Open a connection pool. Side effects: opens `min_size` connections to the server.

    With a `counter`, every statement run on any of the pool's connections is counted.
    """

    async def register_counter(conn: asyncpg.Connection) -> None:
        if counter is not None:
            conn.add_query_logger(counter.record)

    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        connect=_connect,
        init=register_counter,
        connection_class=PooledConnection,
    )
    assert pool is not None
    return pool


async def _connect(*args: Any, **kwargs: Any) -> asyncpg.Connection:
    """asyncpg's connect, for the pool: a server that cannot be reached raises
    DatabaseUnreachableError (from the operating system's error) rather than a bare OSError
    that names no service (storage.outages)."""
    try:
        connection: asyncpg.Connection = await asyncpg.connect(*args, **kwargs)
    except (OSError, TimeoutError) as error:
        raise DatabaseUnreachableError(f"cannot connect to PostgreSQL: {error}") from error
    return connection


@contextlib.asynccontextmanager
async def transaction(db: Db) -> AsyncIterator[Connection]:
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


def qualified(columns: str, alias: str, *, prefix: str = "") -> str:
    """A column list such as USER_COLUMNS with each column read from table `alias` (for joins),
    and renamed `<prefix><column>` when a prefix is given: `qualified("id, name", "u",
    prefix="author_")` is `u.id AS author_id, u.name AS author_name`."""
    names = [column.strip() for column in columns.split(",")]
    if prefix:
        return ", ".join(f"{alias}.{name} AS {prefix}{name}" for name in names)
    return ", ".join(f"{alias}.{name}" for name in names)


async def ping(db: Db) -> None:
    """One round trip; raises when the server does not answer."""
    await db.fetchval("SELECT 1")
