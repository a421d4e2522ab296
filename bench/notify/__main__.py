"""`python -m bench.notify`: live notification latency with 1,000 subscribed sockets.

One `shutter serve` process (A) holds 1,000 graphql-transport-ws sockets, each signed in as its
own user and subscribed to `notificationReceived`. Likes of those users' posts are then made over
HTTP at a steady rate, and each is timed from just before its POST to the arrival of the `next`
frame on the author's socket: first with the likes made through A itself, then through a second
process B (the event crosses Redis pub/sub to reach A's socket). The like's own HTTP round trip
is printed beside, as the baseline the push adds to. Also: A's resident memory per idle
subscription (VmRSS before and after opening the sockets, divided by their number), and how many
full garbage collections A ran during each phase (from its /metrics): each one stops A's event
loop for a time that grows with the number of open sockets (app.GC_YOUNG_THRESHOLD).

Everything runs on loopback (throwaway PostgreSQL and Valkey unless DATABASE_URL/REDIS_URL are
set) and stops by itself within a couple of minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import asyncpg
import orjson
import uvloop
import websockets
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection

from bench.harness import (
    api_env,
    api_process,
    bearer,
    freeze_client_heap,
    full_collections,
    load_client,
    percentile,
    post_graphql,
    services,
)
from schema.global_ids import encode_global_id
from services.tokens import AccessTokens
from storage import counters, redis_keys

PROTOCOL = websockets.Subprotocol("graphql-transport-ws")
SUBSCRIBE = (
    "subscription { notificationReceived { id kind actorCount actor { username } post { id } } }"
)
LIKE = (
    "mutation L($id: ID!) { likePost(input: {postId: $id}) { post { likeCount }"
    " userErrors { code } } }"
)
EVENT_TIMEOUT_SECONDS = 5.0
OPEN_CONCURRENCY = 64
TARGET_P99_MS = 50.0


@dataclass
class Socket:
    """One subscribed socket and the arrival times of its `next` frames."""

    user_id: int
    connection: ClientConnection
    arrivals: asyncio.Queue[float] = field(default_factory=asyncio.Queue)
    frames: int = 0


@dataclass
class Phase:
    name: str
    baseline: str
    measured: str
    push_ms: list[float] = field(default_factory=list)
    http_ms: list[float] = field(default_factory=list)
    lost: int = 0
    seconds: float = 0.0
    full_collections: int | None = None
    """Full (oldest-generation) garbage collections in process A during the phase."""


def raise_file_limit(needed: int) -> None:
    """Let this process (and the servers it spawns, which inherit it) hold `needed` files."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


@dataclass(frozen=True)
class Seeded:
    authors: list[int]
    """The subscribers: user ids, each the author of one published post."""
    posts: list[int]
    """posts[i] is the post of authors[i]."""
    likers: list[int]


async def seed(db: asyncpg.Pool, redis: Redis, *, authors: int, likers: int) -> Seeded:
    """Users (rows only: no password to hash) and one published post for each author."""
    await db.copy_records_to_table(
        "users",
        records=[(f"user{i}", f"user{i}@example.com", "bench") for i in range(authors + likers)],
        columns=["username", "email", "password_hash"],
    )
    user_ids = [
        row["id"]
        for row in await db.fetch(
            "SELECT id FROM users WHERE username = ANY($1::text[]) ORDER BY id",
            [f"user{i}" for i in range(authors + likers)],
        )
    ]
    rows = await db.fetch(
        "INSERT INTO posts (author_id, status, published_at) "
        "SELECT author, 'PUBLISHED', now() FROM unnest($1::bigint[]) AS author "
        "RETURNING author_id, id",
        user_ids[:authors],
    )
    post_of = {row["author_id"]: row["id"] for row in rows}
    for post_id in post_of.values():
        await counters.start_like_count(redis, post_id)
    return Seeded(
        authors=user_ids[:authors],
        posts=[post_of[author] for author in user_ids[:authors]],
        likers=user_ids[authors:],
    )


async def open_socket(ws_url: str, user_id: int, token: str, *, deflate: bool) -> Socket:
    """A socket signed in through `connection_init` (acknowledged), not yet subscribed. With
    `deflate` it offers permessage-deflate, as browsers do (the server then keeps zlib state
    for the socket)."""
    connection = await websockets.connect(
        ws_url,
        subprotocols=[PROTOCOL],
        ping_interval=None,
        open_timeout=30,
        compression="deflate" if deflate else None,
    )
    init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
    await connection.send(orjson.dumps(init).decode())
    ack = orjson.loads(await connection.recv())
    if ack.get("type") != "connection_ack":
        raise RuntimeError(f"user {user_id}: {ack}")
    return Socket(user_id=user_id, connection=connection)


async def subscribe(socket: Socket) -> None:
    message = {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}
    await socket.connection.send(orjson.dumps(message).decode())


async def read_frames(socket: Socket) -> None:
    """Stamp each `next` frame as it arrives; answer the server's keep-alive pings."""
    with contextlib.suppress(websockets.ConnectionClosed):
        async for raw in socket.connection:
            arrived = time.perf_counter()
            message = orjson.loads(raw)
            kind = message.get("type")
            if kind == "next":
                if "errors" in message["payload"]:
                    raise RuntimeError(f"user {socket.user_id}: {message}")
                socket.frames += 1
                socket.arrivals.put_nowait(arrived)
            elif kind == "ping":
                await socket.connection.send('{"type":"pong"}')
            elif kind in ("error", "complete"):
                raise RuntimeError(f"user {socket.user_id}: {message}")


@contextlib.asynccontextmanager
async def signed_in_sockets(
    ws_url: str, users: list[tuple[int, str]], *, deflate: bool
) -> AsyncIterator[list[Socket]]:
    """An acknowledged socket per (user id, token), its reader running; all closed after."""
    gate = asyncio.Semaphore(OPEN_CONCURRENCY)

    async def opened(user_id: int, token: str) -> Socket:
        async with gate:
            return await open_socket(ws_url, user_id, token, deflate=deflate)

    results = await asyncio.gather(
        *(opened(user_id, token) for user_id, token in users), return_exceptions=True
    )
    sockets = [result for result in results if isinstance(result, Socket)]
    readers = [asyncio.create_task(read_frames(socket)) for socket in sockets]
    try:
        failures = [result for result in results if isinstance(result, BaseException)]
        if failures:
            raise RuntimeError(f"{len(failures)} sockets failed to open: {failures[0]!r}")
        yield sockets
    finally:
        await asyncio.gather(
            *(socket.connection.close() for socket in sockets), return_exceptions=True
        )
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*readers, return_exceptions=True)


async def wait_all_subscribed(redis: Redis, user_ids: list[int], seconds: float = 60) -> None:
    """Until the server holds a Redis subscription for every user (PUBSUB NUMSUB)."""
    channels = [redis_keys.user_events_channel(user_id) for user_id in user_ids]
    async with asyncio.timeout(seconds):
        while True:
            counts = await redis.pubsub_numsub(*channels)
            if all(count >= 1 for _, count in counts):
                return
            await asyncio.sleep(0.1)


async def run_phase(
    phase: Phase,
    session: aiohttp.ClientSession,
    events: list[tuple[Socket, int, dict[str, str]]],
    rate: float,
) -> None:
    """Like each (author's socket, post id, liker's headers) at `rate` per second (open loop:
    each like starts on schedule whatever the previous ones are doing)."""

    async def one(socket: Socket, post_id: int, headers: dict[str, str]) -> None:
        while not socket.arrivals.empty():  # nothing stale may pass for this event's push
            socket.arrivals.get_nowait()
        started = time.perf_counter()
        body = await post_graphql(session, LIKE, {"id": encode_global_id("Post", post_id)}, headers)
        phase.http_ms.append((time.perf_counter() - started) * 1000)
        payload = body["data"]["likePost"]  # type: ignore[index]
        if payload["userErrors"]:
            raise RuntimeError(f"like refused: {payload}")
        try:
            async with asyncio.timeout(EVENT_TIMEOUT_SECONDS):
                arrived = await socket.arrivals.get()
        except TimeoutError:
            phase.lost += 1
            return
        phase.push_ms.append((arrived - started) * 1000)

    tasks = []
    started = time.perf_counter()
    for index, (socket, post_id, headers) in enumerate(events):
        await asyncio.sleep(max(0.0, started + index / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(one(socket, post_id, headers)))
    await asyncio.gather(*tasks)
    phase.seconds = time.perf_counter() - started


async def publish_only(
    phase: Phase, redis: Redis, sockets: list[Socket], notification_ids: dict[int, int], rate: float
) -> None:
    """The push path alone: PUBLISH an existing notification's event straight on Redis (what
    the mutation does after its commit) and time it to the `next` frame."""
    targets = [socket for socket in sockets if socket.user_id in notification_ids]

    async def one(socket: Socket) -> None:
        while not socket.arrivals.empty():
            socket.arrivals.get_nowait()
        event = {"type": "notification", "notification_id": notification_ids[socket.user_id]}
        started = time.perf_counter()
        await redis.publish(redis_keys.user_events_channel(socket.user_id), orjson.dumps(event))
        phase.http_ms.append((time.perf_counter() - started) * 1000)
        try:
            async with asyncio.timeout(EVENT_TIMEOUT_SECONDS):
                arrived = await socket.arrivals.get()
        except TimeoutError:
            phase.lost += 1
            return
        phase.push_ms.append((arrived - started) * 1000)

    tasks = []
    started = time.perf_counter()
    for index, socket in enumerate(targets):
        await asyncio.sleep(max(0.0, started + index / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(one(socket)))
    await asyncio.gather(*tasks)
    phase.seconds = time.perf_counter() - started


@contextlib.asynccontextmanager
async def counting_full_collections(
    phase: Phase, session: aiohttp.ClientSession, base_url: str
) -> AsyncIterator[None]:
    """Set `phase.full_collections` to the number of A's full collections during the block."""
    before = await full_collections(session, base_url)
    yield
    after = await full_collections(session, base_url)
    if before is not None and after is not None:
        phase.full_collections = after - before


def print_table(phases: list[Phase], sockets: int, rate: float) -> None:
    print(
        f"\nlatency with {sockets} subscribed sockets on process A, "
        f"{rate:.0f} events/s (open loop), ms"
    )
    print(f"{'':<52} {'events':>6} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}  lost")
    for phase in phases:
        for label, values, lost in (
            (f"{phase.name}: {phase.baseline}", phase.http_ms, None),
            (f"{phase.name}: {phase.measured}", phase.push_ms, phase.lost),
        ):
            print(
                f"{label:<52} {len(values):>6} {percentile(values, 50):>7.1f} "
                f"{percentile(values, 95):>7.1f} {percentile(values, 99):>7.1f} "
                f"{max(values, default=float('nan')):>7.1f}  {'' if lost is None else lost}"
            )
    for phase in phases:
        count = "?" if phase.full_collections is None else phase.full_collections
        print(f"{phase.name}: {count} full garbage collections in process A")
    for phase in phases:
        p99 = percentile(phase.push_ms, 99)
        verdict = "meets" if p99 <= TARGET_P99_MS and phase.lost == 0 else "MISSES"
        print(f"{phase.name}: p99 {p99:.1f} ms {verdict} the target of {TARGET_P99_MS:.0f} ms")


def rss_change(before_kib: int, after_kib: int, count: int) -> str:
    return (
        f"{before_kib / 1024:.1f} -> {after_kib / 1024:.1f} MiB, "
        f"{(after_kib - before_kib) / count:.1f} KiB each"
    )


async def main(subscribers: int, likers: int, events: int, rate: float, *, deflate: bool) -> None:
    raise_file_limit(4 * subscribers + 1024)
    print(f"load average at the start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    with services() as (database_url, redis_url, scratch):
        db = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
        assert db is not None
        redis = Redis.from_url(redis_url)
        seeded = await seed(db, redis, authors=subscribers, likers=likers)
        secret = secrets.token_urlsafe(32)
        tokens = AccessTokens(secret, ttl_seconds=3600)

        def token(user_id: int) -> str:
            return tokens.issue(user_id, uuid.uuid4())[0]

        author_ids = seeded.authors
        liker_headers = [bearer(tokens, user) for user in seeded.likers]
        env = api_env(database_url, redis_url, scratch, secret)
        one = Phase("like via A", "likePost HTTP round trip (baseline)", "POST -> `next` frame")
        two = Phase("like via B", "likePost HTTP round trip (baseline)", "POST -> `next` frame")
        alone = Phase("push path", "PUBLISH round trip (baseline)", "PUBLISH -> `next` frame")
        async with api_process(env) as a, load_client(a.url, 64) as session_a:
            await warm_up(session_a, liker_headers)
            await asyncio.sleep(1.0)
            idle_kib = rss_kib(a.pid)
            opening = time.perf_counter()
            ws_url = a.url.replace("http://", "ws://") + "/graphql"
            users = [(user_id, token(user_id)) for user_id in author_ids]
            async with signed_in_sockets(ws_url, users, deflate=deflate) as sockets:
                await asyncio.sleep(1.0)  # let the server settle before reading its memory
                signed_in_kib = rss_kib(a.pid)
                await asyncio.gather(*(subscribe(socket) for socket in sockets))
                await wait_all_subscribed(redis, author_ids)
                opened_seconds = time.perf_counter() - opening
                freeze_client_heap()  # this client holds 1,000 sockets too
                await asyncio.sleep(1.0)
                subscribed_kib = rss_kib(a.pid)

                def plan(offset: int) -> list[tuple[Socket, int, dict[str, str]]]:
                    # A distinct (liker, post) pair per event: every like is a real insert.
                    return [
                        (
                            sockets[i % subscribers],
                            seeded.posts[i % subscribers],
                            liker_headers[(i // subscribers * 7 + i + offset) % likers],
                        )
                        for i in range(events)
                    ]

                async with counting_full_collections(one, session_a, a.url):
                    await run_phase(one, session_a, plan(0), rate)
                notification_ids = {
                    row["recipient_id"]: row["id"]
                    for row in await db.fetch("SELECT recipient_id, id FROM notifications")
                }
                async with counting_full_collections(alone, session_a, a.url):
                    await publish_only(alone, redis, sockets, notification_ids, rate)
                async with api_process(env) as b, load_client(b.url, 64) as session_b:
                    await warm_up(session_b, liker_headers)
                    async with counting_full_collections(two, session_a, a.url):
                        await run_phase(two, session_b, plan(likers // 2), rate)
                frames = sum(socket.frames for socket in sockets)
        offered = "offering permessage-deflate" if deflate else "without compression"
        print(
            f"\n{subscribers} sockets ({offered}) opened and subscribed in {opened_seconds:.1f} s"
        )
        print("server A resident memory (VmRSS):")
        for label, before, after in (
            ("sockets signed in (connection_ack)", idle_kib, signed_in_kib),
            ("+ subscribed (notificationReceived)", signed_in_kib, subscribed_kib),
            ("per idle subscription, all in", idle_kib, subscribed_kib),
        ):
            print(f"  {label:<37} {rss_change(before, after, subscribers)}")
        print(f"`next` frames received: {frames} (events sent: {2 * events + len(alone.http_ms)})")
        print_table([one, two, alone], subscribers, rate)
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")
        await redis.aclose()
        await db.close()


async def warm_up(session: aiohttp.ClientSession, headers: list[dict[str, str]]) -> None:
    for index in range(200):
        await post_graphql(session, "{ viewer { id } }", {}, headers[index % len(headers)])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--likers", type=int, default=200)
    parser.add_argument("--events", type=int, default=400, help="likes per phase")
    parser.add_argument("--rate", type=float, default=20.0, help="likes per second")
    parser.add_argument(
        "--no-deflate",
        action="store_true",
        help="clients do not offer permessage-deflate (browsers do; the default does too)",
    )
    arguments = parser.parse_args()
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(
            main(
                arguments.subscribers,
                arguments.likers,
                arguments.events,
                arguments.rate,
                deflate=not arguments.no_deflate,
            )
        )
