"""Waits on the event itself, for tests that must not guess at timing with a sleep."""

from __future__ import annotations

import asyncio
from pathlib import Path

from resources import Resources

SUBSCRIBE_SECONDS = 10.0
"""Generous: a subscription registers in milliseconds; this bound only catches a hang."""


async def until_listening(
    resources: Resources, channel: str, listeners: int, *, seconds: float = SUBSCRIBE_SECONDS
) -> None:
    """Wait until the process's event hub has exactly `listeners` local listeners on `channel`
    and Redis has the channel subscribed (PUBSUB NUMSUB), so an event published from now on
    reaches them. Fails the test after `seconds`."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                if resources.events.listener_count(channel) == listeners:
                    [(_, subscribers)] = await resources.redis.pubsub_numsub(channel)
                    if subscribers >= 1:
                        return
                await asyncio.sleep(0.01)
    except TimeoutError:
        count = resources.events.listener_count(channel)
        raise AssertionError(
            f"{channel}: {count} listeners after {seconds} s, not {listeners}"
        ) from None


async def until_not_listening(
    resources: Resources, channel: str, *, seconds: float = SUBSCRIBE_SECONDS
) -> None:
    """Wait until the process's event hub has no local listener left on `channel` (every
    subscription of it ended). Fails the test after `seconds`."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                if resources.events.listener_count(channel) == 0:
                    return
                await asyncio.sleep(0.01)
    except TimeoutError:
        count = resources.events.listener_count(channel)
        raise AssertionError(f"{channel}: still {count} listeners after {seconds} s") from None


def _server_side_receive_queues(port: int) -> list[int]:
    """Bytes waiting unread in the kernel for each established TCP connection accepted on
    loopback `port` (from /proc/net/tcp and tcp6; Linux only). No side effects."""
    queues: list[int] = []
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            local, state, queue_sizes = fields[1], fields[3], fields[4]
            if state == "01" and int(local.rsplit(":", 1)[1], 16) == port:
                queues.append(int(queue_sizes.split(":")[1], 16))
    return queues


async def until_read_by_server(
    port: int, connections: int, *, seconds: float = SUBSCRIBE_SECONDS
) -> None:
    """Wait until at least `connections` connections are established on `port` and the server
    has read everything sent on each of them (its receive queues are empty): an HTTP server
    has then parsed the headers of every request sent so far. Fails after `seconds`."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                queues = _server_side_receive_queues(port)
                if len(queues) >= connections and not any(queues):
                    return
                await asyncio.sleep(0.01)
    except TimeoutError:
        queues = _server_side_receive_queues(port)
        raise AssertionError(
            f"port {port}: receive queues {queues}, {connections} expected"
        ) from None
