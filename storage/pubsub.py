"""Redis pub/sub: publish events after commit, and fan them in to local listeners.

Each process holds ONE pub/sub connection (the `EventHub`), subscribed to the channels its
listeners want. A listener is a callback (`calling`) or, for consumers that wait for events, a
bounded queue (`listen`), so a slow consumer cannot grow the process's memory: when its queue
is full the oldest event is dropped (the stored rows stay the source of truth, and clients catch
up by querying). The connection is re-established with backoff after a Redis restart, and its
channels re-subscribed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from storage import redis_keys

log = logging.getLogger(__name__)

Event = dict[str, Any]

LISTENER_QUEUE_SIZE = 100
RECONNECT_DELAYS = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


async def publish(redis: Redis, channel: str, event: Event) -> int:
    """Send `event` to every process listening on `channel`; returns how many received it.

    Best effort: callers publish after their transaction committed and the stored rows are the
    truth (clients catch up by querying), so a failed publish is logged and counts 0 receivers
    rather than failing the request or job that caused it."""
    return await publish_all(redis, [(channel, event)])


async def publish_all(redis: Redis, messages: Sequence[tuple[str, Event]]) -> int:
    """Send each (channel, event) in one round trip; returns how many receivers there were in
    all. Best effort, as `publish`."""
    if not messages:
        return 0
    try:
        if len(messages) == 1:
            [(channel, event)] = messages
            receivers: int = await redis.publish(channel, orjson.dumps(event))
            return receivers
        async with redis.pipeline(transaction=False) as pipe:
            for channel, event in messages:
                pipe.publish(channel, orjson.dumps(event))
            return sum(await pipe.execute())
    except (RedisConnectionError, RedisTimeoutError, OSError):
        log.warning("could not publish on %s", [c for c, _ in messages], exc_info=True)
        return 0


class EventHub:
    """One pub/sub connection per process, shared by every local listener."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._listeners: dict[str, set[Callable[[Event], None]]] = defaultdict(set)
        self._pubsub: PubSub | None = None
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    async def start(self) -> None:
        """Side effect: starts the background task that owns the pub/sub connection."""
        self._task = asyncio.create_task(self._run(), name="event-hub")
        await self.connected.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def listener_count(self, channel: str) -> int:
        """How many local listeners (`listen` queues and `calling` callbacks) `channel` has now.

        A listener counts from the moment its block starts; its channel is on Redis once the
        subscription went through (PUBSUB NUMSUB tells). No side effects."""
        return len(self._listeners.get(channel, ()))

    @contextlib.asynccontextmanager
    async def listen(self, channel: str) -> AsyncIterator[asyncio.Queue[Event]]:
        """A queue receiving the events of `channel` while the block runs.

        When the block starts, the channel is subscribed (unless Redis is unreachable: then it is
        subscribed as soon as the connection is back)."""
        queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=LISTENER_QUEUE_SIZE)
        async with self.calling(channel, functools.partial(_put_dropping_oldest, queue)):
            yield queue

    @contextlib.asynccontextmanager
    async def calling(self, channel: str, callback: Callable[[Event], None]) -> AsyncIterator[None]:
        """Call `callback` with each event of `channel` while the block runs (from the hub's
        task: it must return at once). Subscribed as for `listen`."""
        first = channel not in self._listeners
        self._listeners[channel].add(callback)
        if first and self._pubsub is not None and self.connected.is_set():
            with contextlib.suppress(RedisConnectionError, RedisTimeoutError, OSError):
                await self._pubsub.subscribe(channel)
        try:
            yield
        finally:
            self._listeners[channel].discard(callback)
            if not self._listeners[channel]:
                del self._listeners[channel]
                if self._pubsub is not None and self.connected.is_set():
                    with contextlib.suppress(RedisConnectionError, RedisTimeoutError, OSError):
                        await self._pubsub.unsubscribe(channel)

    async def _run(self) -> None:
        attempt = 0
        while True:
            try:
                await self._serve_connection()
            except (RedisConnectionError, RedisTimeoutError, OSError) as error:
                if self.connected.is_set():  # a working connection was lost: backoff anew
                    attempt = 0
                self.connected.clear()
                delay = RECONNECT_DELAYS[min(attempt, len(RECONNECT_DELAYS) - 1)]
                attempt += 1
                log.warning("pub/sub connection lost (%s); reconnecting in %.1fs", error, delay)
                await asyncio.sleep(delay)

    async def _serve_connection(self) -> None:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            # A placeholder channel keeps the connection in subscribed mode even with no listeners.
            channels = set(self._listeners)
            await pubsub.subscribe(redis_keys.EVENTS_HEARTBEAT_CHANNEL, *channels)
            self._pubsub = pubsub
            self.connected.set()
            # listen() calls made while that SUBSCRIBE was in flight saw no connection and left
            # their channels (or, on leaving, their unsubscription) to this one: catch up.
            if joined := set(self._listeners) - channels:
                await pubsub.subscribe(*joined)
            if left := channels - set(self._listeners):
                await pubsub.unsubscribe(*left)
            while True:
                message = await pubsub.get_message(timeout=1.0)
                if message is not None and message["type"] == "message":
                    self._dispatch(message["channel"].decode(), message["data"])
        finally:
            self._pubsub = None
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _dispatch(self, channel: str, data: bytes) -> None:
        try:
            event = orjson.loads(data)
        except orjson.JSONDecodeError:
            log.warning("dropping a malformed event on %s", channel)
            return
        for callback in list(self._listeners.get(channel, ())):
            try:
                callback(event)
            except Exception:  # one broken listener must not stop the others' events
                log.exception("an event listener of %s failed", channel)


def _put_dropping_oldest(queue: asyncio.Queue[Event], event: Event) -> None:
    if queue.full():
        queue.get_nowait()  # drop the oldest: a slow socket loses events, not memory
    queue.put_nowait(event)
