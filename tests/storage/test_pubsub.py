"""The EventHub against a real Valkey of its own, which these tests stop and start again on the
same port (never the session's shared Redis): fan-in to local listeners, the bounded queue, and
what happens around a reconnect."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from storage import pubsub
from storage.pubsub import LISTENER_QUEUE_SIZE, EventHub, publish
from storage.redis_keys import EVENTS_HEARTBEAT_CHANNEL as HEARTBEAT_CHANNEL
from tests.conftest import free_port
from tests.servers import RestartableValkey

SECONDS = 5.0


@pytest.fixture
async def valkey(tmp_path: Path) -> AsyncIterator[RestartableValkey]:
    server = RestartableValkey(tmp_path / "valkey", free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def client(valkey: RestartableValkey) -> AsyncIterator[Redis]:
    redis = Redis.from_url(valkey.url)
    try:
        yield redis
    finally:
        await redis.aclose()


@pytest.fixture
async def hub(valkey: RestartableValkey) -> AsyncIterator[EventHub]:
    redis = Redis.from_url(valkey.url)
    events = EventHub(redis)
    try:
        async with asyncio.timeout(SECONDS):
            await events.start()
        yield events
    finally:
        await events.stop()
        await redis.aclose()


async def until_disconnected(hub: EventHub) -> None:
    async with asyncio.timeout(SECONDS):
        while True:
            if not hub.connected.is_set():
                return
            await asyncio.sleep(0.01)


async def until_subscribed(client: Redis, channel: str) -> None:
    async with asyncio.timeout(SECONDS):
        while True:
            if (await client.pubsub_numsub(channel))[0][1] >= 1:
                return
            await asyncio.sleep(0.01)


async def next_event(queue: asyncio.Queue[dict[str, Any]]) -> dict[str, Any]:
    async with asyncio.timeout(SECONDS):
        return await queue.get()


async def test_every_listener_of_a_channel_gets_each_event(hub: EventHub, client: Redis) -> None:
    async with hub.listen("events:a") as first, hub.listen("events:a") as second:
        assert await publish(client, "events:a", {"n": 1}) == 1  # one connection per process
        assert await next_event(first) == {"n": 1}
        assert await next_event(second) == {"n": 1}
    assert (await client.pubsub_numsub("events:a"))[0][1] == 0  # unsubscribed with the last


async def test_a_callback_listener_is_called_with_each_event_and_shares_the_channel(
    hub: EventHub, client: Redis
) -> None:
    called: list[dict[str, Any]] = []
    async with hub.listen("events:a") as queue:
        async with hub.calling("events:a", called.append):
            assert await publish(client, "events:a", {"n": 1}) == 1
            assert await next_event(queue) == {"n": 1}  # same connection, in order: called too
            assert called == [{"n": 1}]
        assert (await client.pubsub_numsub("events:a"))[0][1] == 1  # the queue still listens
        await publish(client, "events:a", {"n": 2})
        assert await next_event(queue) == {"n": 2}
    assert called == [{"n": 1}]
    assert (await client.pubsub_numsub("events:a"))[0][1] == 0


async def test_a_failing_callback_does_not_stop_other_listeners(
    hub: EventHub, client: Redis
) -> None:
    def broken(event: dict[str, Any]) -> None:
        raise ValueError(f"cannot take {event}")

    async with hub.calling("events:a", broken), hub.listen("events:a") as queue:
        await publish(client, "events:a", {"n": 1})
        await publish(client, "events:a", {"n": 2})
        assert [await next_event(queue), await next_event(queue)] == [{"n": 1}, {"n": 2}]
    assert hub.connected.is_set()


async def test_a_full_queue_drops_the_oldest_events(hub: EventHub, client: Redis) -> None:
    async with hub.listen("events:slow") as slow, hub.listen("events:barrier") as barrier:
        for n in range(LISTENER_QUEUE_SIZE + 5):
            await publish(client, "events:slow", {"n": n})
        # One connection delivers in order: once the barrier is through, so is everything else.
        await publish(client, "events:barrier", {})
        assert await next_event(barrier) == {}
        assert slow.qsize() == LISTENER_QUEUE_SIZE
        kept = [slow.get_nowait()["n"] for _ in range(LISTENER_QUEUE_SIZE)]
    assert kept == list(range(5, LISTENER_QUEUE_SIZE + 5))


async def test_listeners_get_events_again_after_a_restart(
    hub: EventHub, client: Redis, valkey: RestartableValkey
) -> None:
    async with hub.listen("events:a") as queue:
        valkey.stop()
        await until_disconnected(hub)
        valkey.start()
        async with asyncio.timeout(SECONDS):
            await hub.connected.wait()
        await until_subscribed(client, "events:a")
        await publish(client, "events:a", {"after": "restart"})
        assert await next_event(queue) == {"after": "restart"}


def reconnect_delays(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The delays the hub announced so far ("reconnecting in 0.2s" -> "0.2"), in order."""
    return [
        record.getMessage().rsplit("reconnecting in ", 1)[1]
        for record in caplog.records
        if record.name == pubsub.__name__ and "reconnecting in" in record.getMessage()
    ]


async def until_announced(caplog: pytest.LogCaptureFixture, count: int) -> None:
    async with asyncio.timeout(SECONDS):
        while True:
            if len(reconnect_delays(caplog)) >= count:
                return
            await asyncio.sleep(0.01)


async def test_the_backoff_starts_over_once_a_connection_has_worked(
    hub: EventHub,
    valkey: RestartableValkey,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A long outage climbs the backoff; a later blip must not inherit its longest delay. Read
    from the delays the hub announces (no timing: a busy machine changes nothing)."""
    monkeypatch.setattr(pubsub, "RECONNECT_DELAYS", (0.2, 0.2, 0.2, 0.2, 3.0))
    caplog.set_level(logging.WARNING, logger=pubsub.__name__)
    valkey.stop()
    await until_disconnected(hub)
    await until_announced(caplog, 5)  # four quick attempts failed; the fifth delay has begun
    assert reconnect_delays(caplog)[:5] == ["0.2s", "0.2s", "0.2s", "0.2s", "3.0s"]
    valkey.start()
    async with asyncio.timeout(SECONDS):
        await hub.connected.wait()

    announced = len(reconnect_delays(caplog))
    valkey.stop()
    await until_disconnected(hub)
    await until_announced(caplog, announced + 1)
    valkey.start()
    async with asyncio.timeout(SECONDS):
        await hub.connected.wait()
    assert reconnect_delays(caplog)[announced] == "0.2s"


async def test_a_channel_first_listened_to_during_a_reconnect_is_subscribed(
    hub: EventHub, client: Redis, valkey: RestartableValkey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """listen() while the hub's re-SUBSCRIBE is in flight: the hub has not published its new
    connection yet, so listen() leaves the channel to the reconnect, whose channel list was
    taken before. The channel must still end up subscribed."""
    in_flight, release = asyncio.Event(), asyncio.Event()
    subscribe = PubSub.subscribe

    async def held_resubscribe(self: PubSub, *args: Any, **kwargs: Any) -> None:
        if HEARTBEAT_CHANNEL in args:
            in_flight.set()
            await release.wait()
        await subscribe(self, *args, **kwargs)

    monkeypatch.setattr(PubSub, "subscribe", held_resubscribe)
    valkey.stop()
    await until_disconnected(hub)
    valkey.start()
    async with asyncio.timeout(SECONDS):
        await in_flight.wait()
    async with hub.listen("events:late") as queue:
        release.set()
        await until_subscribed(client, "events:late")
        await client.publish("events:late", orjson.dumps({"late": True}))
        assert await next_event(queue) == {"late": True}
