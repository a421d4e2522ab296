"""The one way a Shutter process makes a Redis client: every call bounded in time.

redis-py waits forever by default, for a connection and for each reply: a Redis that is stopped
(SIGSTOP, a hung host, a network partition that drops packets) then hangs every request and job
that touches it. The clients made here give up after `timeout_seconds`, connecting, writing and
reading alike, raising redis.exceptions.TimeoutError (or ConnectionError when refused), which
the API answers with SERVICE_UNAVAILABLE (storage.outages) and the worker supervisor recovers
from. Pub/sub shares the client's connection pool: its reader (storage.pubsub) waits with an
explicit `get_message(timeout=...)`, which takes the place of the socket timeout for that read,
so an idle subscription is not cut off.

redis-py (5.x) bounds the write of a command with `asyncio.wait_for`, which on Python 3.11 can
swallow a cancellation that arrives as the write completes (CPython gh-86296, fixed in 3.12): a
websocket subscription cancelled while it sent a command then ran on for ever after its socket
closed. The connections made here bound their writes with `asyncio.timeout` instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from arq.connections import ArqRedis
from redis.asyncio.connection import (
    AbstractConnection,
    Connection,
    ConnectionPool,
    SSLConnection,
    UnixDomainSocketConnection,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

Command = bytes | str | Iterable[bytes]


def redis_client(url: str, *, timeout_seconds: float) -> ArqRedis:
    """A client for `url` (also arq's queue: ArqRedis is a redis.asyncio.Redis) whose connects
    and commands each give up after `timeout_seconds`. Side effects: none until first used (it
    connects lazily); closing it (`aclose`) closes its connection pool."""
    pool = ConnectionPool.from_url(
        url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds
    )
    pool.connection_class = _CANCELLABLE[pool.connection_class]
    client = ArqRedis(pool)
    client.auto_close_connection_pool = True  # as Redis.from_pool: the client owns the pool
    return client


async def _send_packed_command(
    connection: AbstractConnection, command: Command, check_health: bool
) -> None:
    """redis-py's AbstractConnection.send_packed_command, with the write bounded by
    `asyncio.timeout` (which lets a cancellation through) rather than `asyncio.wait_for`."""
    if not connection.is_connected:
        await connection.connect()  # type: ignore[no-untyped-call]
    elif check_health:
        await connection.check_health()  # type: ignore[no-untyped-call]
    if isinstance(command, str):
        command = command.encode()
    if isinstance(command, bytes):
        command = [command]
    writer = connection._writer
    assert writer is not None
    try:
        async with asyncio.timeout(connection.socket_timeout):
            writer.writelines(command)
            await writer.drain()
    except TimeoutError:
        await connection.disconnect(nowait=True)
        raise RedisTimeoutError("Timeout writing to socket") from None
    except OSError as error:
        await connection.disconnect(nowait=True)
        raise RedisConnectionError(f"Error while writing to socket: {error}") from error
    except BaseException:
        # A cancelled or failed write may have sent part of a command: the connection is unusable.
        await connection.disconnect(nowait=True)
        raise


class _CancellableConnection(Connection):
    async def send_packed_command(self, command: Command, check_health: bool = True) -> None:
        await _send_packed_command(self, command, check_health)


class _CancellableSSLConnection(SSLConnection):
    async def send_packed_command(self, command: Command, check_health: bool = True) -> None:
        await _send_packed_command(self, command, check_health)


class _CancellableUnixDomainSocketConnection(UnixDomainSocketConnection):
    async def send_packed_command(self, command: Command, check_health: bool = True) -> None:
        await _send_packed_command(self, command, check_health)


_CANCELLABLE: dict[type[AbstractConnection], type[AbstractConnection]] = {
    Connection: _CancellableConnection,
    SSLConnection: _CancellableSSLConnection,
    UnixDomainSocketConnection: _CancellableUnixDomainSocketConnection,
}
