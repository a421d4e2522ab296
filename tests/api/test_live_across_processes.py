"""Live notifications across real server processes (issue 5, items 2 and 4).

Each test runs `shutter serve` in subprocesses on loopback, and drives the socket with the `gql`
client library over graphql-transport-ws (token in `connection_init`). A subscription is known
to be live once its process has subscribed the channel on Redis (PUBSUB NUMSUB), so nothing
here sleeps on a guess.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from gql import Client, GraphQLRequest
from gql.client import AsyncClientSession
from gql.transport.exceptions import TransportError
from gql.transport.websockets import WebsocketsTransport
from redis.asyncio import Redis
from websockets.exceptions import ConnectionClosed

from resources import Resources
from schema.global_ids import encode_global_id
from services import notifications
from services.notifications import AGGREGATION_WINDOW
from services.posts import create_post
from services.tokens import AccessTokens
from settings import Settings
from storage import redis_keys
from storage.embedded import start_valkey
from storage.pg import likes as like_store
from storage.pg.users import UserRecord
from tests.api.processes import running_servers, server_env
from tests.conftest import LiveApp, free_port
from tests.factories import make_media, make_user, viewer_of

EVENT_SECONDS = 10.0
PROTOCOL = websockets.Subprotocol("graphql-transport-ws")
RECONNECT_SECONDS = 15.0
"""Longer than the EventHub's longest backoff step (5 s) plus a connection attempt."""

NOTIFICATION_RECEIVED = """
subscription {
  notificationReceived { kind actorCount actor { username } post { id likeCount } }
}
"""
POST_COUNTS_CHANGED = """
subscription Counts($postId: ID!) { postCountsChanged(postId: $postId) { id likeCount } }
"""
LIKE = (
    "mutation Like($id: ID!) { likePost(input: {postId: $id}) { post { likeCount }"
    " userErrors { code } } }"
)
NOTIFICATIONS = """
{ notifications { edges { node { kind actorCount actor { username } post { id likeCount } } } } }
"""


def token_for(settings: Settings, user: UserRecord) -> str:
    assert settings.secret_key
    return AccessTokens(settings.secret_key, ttl_seconds=900).issue(user.id, uuid.uuid4())[0]


def gql_client(ws_url: str, token: str | None) -> Client:
    """A gql client speaking graphql-transport-ws, the token in `connection_init`."""
    transport = WebsocketsTransport(
        url=ws_url,
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        init_payload={} if token is None else {"authorization": f"Bearer {token}"},
        connect_timeout=EVENT_SECONDS,
        ack_timeout=EVENT_SECONDS,
        close_timeout=2,
    )
    return Client(transport=transport, fetch_schema_from_transport=False)


@contextlib.asynccontextmanager
async def gql_session(ws_url: str, token: str) -> AsyncIterator[AsyncClientSession]:
    async with gql_client(ws_url, token) as session:
        assert isinstance(session, AsyncClientSession)
        yield session


class Subscription:
    """One operation on a gql session, its results read one at a time with a deadline."""

    def __init__(self, session: AsyncClientSession, request: GraphQLRequest) -> None:
        self._results = session.subscribe(request)
        # The subscribe frame is sent when the generator is first advanced: start it now.
        self._pending: asyncio.Task[dict[str, Any]] = asyncio.create_task(self._next())

    async def _next(self) -> dict[str, Any]:
        return await anext(self._results)

    async def next(self) -> dict[str, Any]:
        async with asyncio.timeout(EVENT_SECONDS):
            result = await self._pending
        self._pending = asyncio.create_task(self._next())
        return result

    async def close(self) -> None:
        self._pending.cancel()
        with contextlib.suppress(asyncio.CancelledError, TransportError):
            await self._pending
        await self._results.aclose()


async def wait_subscribed(redis: Redis, channel: str, *, seconds: float = EVENT_SECONDS) -> None:
    """Until some server process has `channel` subscribed on this Redis."""
    async with asyncio.timeout(seconds):
        while True:
            [(_, subscribers)] = await redis.pubsub_numsub(channel)
            if subscribers >= 1:
                return
            await asyncio.sleep(0.02)


async def like_over_http(base_url: str, token: str, post_id: int) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url, timeout=EVENT_SECONDS) as http:
        response = await http.post(
            "/graphql",
            json={"query": LIKE, "variables": {"id": encode_global_id("Post", post_id)}},
            headers={"authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def query_over_http(base_url: str, token: str, query: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url, timeout=EVENT_SECONDS) as http:
        response = await http.post(
            "/graphql", json={"query": query}, headers={"authorization": f"Bearer {token}"}
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def readiness(base_url: str) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=base_url, timeout=EVENT_SECONDS) as http:
        response = await http.get("/readyz")
    return response.status_code, response.json()


async def published_post(resources: Resources, author: UserRecord) -> int:
    media_id = await make_media(resources.db, author.id)
    post = await create_post(
        resources.posts, viewer_of(author), media_ids=[media_id], caption=None, alt_texts=[]
    )
    assert post.status == "PUBLISHED"
    return post.id


def like_notification(post_id: int, *, actor: str, actors: int, likes: int) -> dict[str, Any]:
    return {
        "kind": "LIKE",
        "actorCount": actors,
        "actor": {"username": actor},
        "post": {"id": encode_global_id("Post", post_id), "likeCount": likes},
    }


async def test_a_like_through_one_process_is_pushed_by_the_other(
    clean: Resources, settings: Settings, tmp_path: Path
) -> None:
    author = await make_user(clean.db, "ada")
    liker = await make_user(clean.db, "bob")
    post_id = await published_post(clean, author)
    env = server_env(settings, tmp_path / "data")
    async with (
        running_servers(env, tmp_path, count=2) as (a, b),
        gql_session(a.ws_url, token_for(settings, author)) as session,
    ):
        received = Subscription(session, GraphQLRequest(NOTIFICATION_RECEIVED))
        counts = Subscription(
            session,
            GraphQLRequest(
                POST_COUNTS_CHANGED, variable_values={"postId": encode_global_id("Post", post_id)}
            ),
        )
        try:
            await wait_subscribed(clean.redis, redis_keys.user_events_channel(author.id))
            await wait_subscribed(clean.redis, redis_keys.post_events_channel(post_id))

            liked = await like_over_http(b.base_url, token_for(settings, liker), post_id)
            assert liked == {"data": {"likePost": {"post": {"likeCount": 1}, "userErrors": []}}}

            assert await received.next() == {
                "notificationReceived": like_notification(post_id, actor="bob", actors=1, likes=1)
            }
            assert await counts.next() == {
                "postCountsChanged": {"id": encode_global_id("Post", post_id), "likeCount": 1}
            }
        finally:
            await received.close()
            await counts.close()


async def test_the_server_resubscribes_after_a_redis_restart_and_nothing_is_lost(
    clean: Resources, settings: Settings, tmp_path: Path
) -> None:
    author = await make_user(clean.db, "ada")
    early, late = await make_user(clean.db, "bob"), await make_user(clean.db, "cyd")
    post_id = await published_post(clean, author)
    channel = redis_keys.user_events_channel(author.id)
    port = free_port()  # the restarted Valkey takes the same port: the server's URL stays valid
    running = [start_valkey(tmp_path / "vk1", persist=False, port=port)]
    own_redis = Redis.from_url(running[0].url)
    try:
        env = server_env(settings, tmp_path / "data", redis_url=running[0].url)
        async with (
            running_servers(env, tmp_path, count=1) as [server],
            gql_session(server.ws_url, token_for(settings, author)) as session,
        ):
            received = Subscription(session, GraphQLRequest(NOTIFICATION_RECEIVED))
            try:
                await wait_subscribed(own_redis, channel)

                running.pop().stop()
                assert await readiness(server.base_url) == (
                    503,
                    {"status": "not ready", "postgres": "ok", "redis": "unavailable"},
                )
                # A like while Redis is down. Through the API it would be refused (the token's
                # revocation check and the abuse limits read Redis), so this is what like_post
                # does on PostgreSQL, then its best-effort push, which goes nowhere.
                change = await like_store.insert_like(
                    clean.db, post_id, early.id, notification_window=AGGREGATION_WINDOW
                )
                assert change is not None
                assert change.author_id == author.id
                deliveries = notifications.like_deliveries(change)
                assert len(deliveries) == 1
                await notifications.announce(own_redis, deliveries)  # logs, does not raise

                running.append(start_valkey(tmp_path / "vk2", persist=False, port=port))
                await wait_subscribed(own_redis, channel, seconds=RECONNECT_SECONDS)

                liked = await like_over_http(server.base_url, token_for(settings, late), post_id)
                # A fresh Valkey has no counter: it is recounted from the likes table.
                assert liked == {"data": {"likePost": {"post": {"likeCount": 2}, "userErrors": []}}}
                assert await received.next() == {
                    "notificationReceived": like_notification(
                        post_id, actor="cyd", actors=2, likes=2
                    )
                }
            finally:
                await received.close()
            listed = await query_over_http(
                server.base_url, token_for(settings, author), NOTIFICATIONS
            )
        assert listed == {
            "data": {
                "notifications": {
                    "edges": [{"node": like_notification(post_id, actor="cyd", actors=2, likes=2)}]
                }
            }
        }
    finally:
        await own_redis.aclose()
        for valkey in running:
            valkey.stop()


def close_code(error: BaseException) -> int | None:
    """The close code the server sent, from the websockets error gql chains its own onto."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ConnectionClosed):
            return seen.rcvd.code if seen.rcvd is not None else None
        seen = seen.__cause__ or seen.__context__
    return None


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(None, id="missing"),
        pytest.param("not-a-token", id="malformed"),
        pytest.param(
            AccessTokens("another-secret-key-of-at-least-32-bytes", ttl_seconds=900).issue(
                1, uuid.uuid4()
            )[0],
            id="signed-with-another-key",
        ),
    ],
)
async def test_a_socket_without_a_valid_token_is_closed_with_4403(
    live: LiveApp, token: str | None
) -> None:
    with pytest.raises(TransportError) as refused:
        async with gql_client(live.ws_url, token):
            pass
    assert close_code(refused.value) == 4403


async def test_frames_are_text(live: LiveApp, settings: Settings) -> None:
    """graphql-transport-ws messages are JSON text: a binary frame is no message to gql or to
    the graphql-ws browser client (and the server itself refuses binary frames from clients)."""
    user = await make_user(live.resources.db, "tess")
    async with websockets.connect(live.ws_url, subprotocols=[PROTOCOL]) as socket:
        init = {
            "type": "connection_init",
            "payload": {"authorization": "Bearer " + token_for(settings, user)},
        }
        await socket.send(json.dumps(init))
        ack = await socket.recv()
    assert isinstance(ack, str)
    assert json.loads(ack) == {"type": "connection_ack"}
