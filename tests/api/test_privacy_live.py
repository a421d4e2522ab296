"""No live event crosses a block (#18, item 5): over graphql-transport-ws on the real app.

"Nothing arrived" is never a timeout guessed long enough: after the blocked side's actions, an
action by a third account publishes on the same Redis channel, and pub/sub keeps the order of
one channel, so that event must be the very next message on the socket. Subscriptions are known
to be live once their channel is subscribed (tests/waits.until_listening).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import websockets

from schema.global_ids import decode_id_of_type, encode_global_id
from services.tokens import AccessTokens
from settings import Settings
from storage import redis_keys
from storage.pg.users import UserRecord
from tests.conftest import LiveApp
from tests.factories import make_media, make_user
from tests.waits import until_listening

PROTOCOL = websockets.Subprotocol("graphql-transport-ws")
EVENT_SECONDS = 10.0
"""Generous: an event arrives in milliseconds; this bound only catches a hang."""

NOTIFICATION_RECEIVED = """
subscription { notificationReceived {
  kind actorCount actor { username } post { id } comment { text author { username } } } }
"""
POST_COUNTS_CHANGED = """
subscription C($id: ID!) { postCountsChanged(postId: $id) { id likeCount } }
"""
CREATE_POST = """
mutation P($input: CreatePostInput!) {
  createPost(input: $input) { post { id } userErrors { code field } } }
"""
LIKE = "mutation L($id: ID!) { likePost(input: {postId: $id}) { userErrors { code } } }"
COMMENT = """
mutation C($id: ID!, $text: String!) {
  addComment(input: {postId: $id, text: $text}) { comment { id } userErrors { code } } }
"""
BLOCK = "mutation B($id: ID!) { blockUser(input: {userId: $id}) { userErrors { code } } }"
NOTIFICATIONS = "{ notifications { edges { node { kind actor { username } post { id } } } } }"


class Account:
    def __init__(self, live: LiveApp, settings: Settings, user: UserRecord) -> None:
        assert settings.secret_key
        self.live, self.user = live, user
        self.token = AccessTokens(settings.secret_key, ttl_seconds=900).issue(
            user.id, uuid.uuid4()
        )[0]

    @property
    def gid(self) -> str:
        return str(encode_global_id("User", self.user.id))

    async def ask(self, query: str, **variables: Any) -> dict[str, Any]:
        body = await self.live.graphql(query, variables, token=self.token)
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    async def post(self, caption: str) -> str:
        media = await make_media(self.live.resources.db, self.user.id)
        data = await self.ask(
            CREATE_POST,
            input={"media": [{"mediaId": encode_global_id("Media", media)}], "caption": caption},
        )
        assert data["createPost"]["userErrors"] == [], data
        post_id: str = data["createPost"]["post"]["id"]
        return post_id

    async def like(self, post_id: str) -> list[str]:
        data = await self.ask(LIKE, id=post_id)
        return [error["code"] for error in data["likePost"]["userErrors"]]

    async def comment(self, post_id: str, text: str) -> list[str]:
        data = await self.ask(COMMENT, id=post_id, text=text)
        return [error["code"] for error in data["addComment"]["userErrors"]]

    async def block(self, other: Account) -> None:
        data = await self.ask(BLOCK, id=other.gid)
        assert data["blockUser"]["userErrors"] == [], data


async def accounts(live: LiveApp, settings: Settings, *names: str) -> list[Account]:
    return [Account(live, settings, await make_user(live.resources.db, name)) for name in names]


class Socket:
    """One graphql-transport-ws connection of an account, with one subscription `s`."""

    def __init__(self, socket: websockets.ClientConnection) -> None:
        self.socket = socket

    async def next_message(self) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(
            await asyncio.wait_for(self.socket.recv(), EVENT_SECONDS)
        )
        return message

    async def next_notification(self) -> dict[str, Any]:
        message = await self.next_message()
        assert message["type"] == "next", message
        notification: dict[str, Any] = message["payload"]["data"]["notificationReceived"]
        return notification


@asynccontextmanager
async def subscribed(
    account: Account, query: str, variables: dict[str, Any] | None = None
) -> AsyncIterator[Socket]:
    async with websockets.connect(account.live.ws_url, subprotocols=[PROTOCOL]) as socket:
        init = {"type": "connection_init", "payload": {"authorization": f"Bearer {account.token}"}}
        await socket.send(json.dumps(init))
        assert json.loads(await socket.recv()) == {"type": "connection_ack"}
        payload = {"query": query, "variables": variables or {}}
        await socket.send(json.dumps({"id": "s", "type": "subscribe", "payload": payload}))
        yield Socket(socket)


async def notifications_of(account: Account) -> list[dict[str, Any]]:
    data = await account.ask(NOTIFICATIONS)
    return [edge["node"] for edge in data["notifications"]["edges"]]


async def actors_in_store(live: LiveApp, recipient: Account) -> set[str]:
    """Every actor of every stored notification event of `recipient` (visible or not)."""
    rows = await live.resources.db.fetch(
        """
        SELECT DISTINCT u.username FROM notifications n
          JOIN notification_actors a ON a.notification_id = n.id
          JOIN users u ON u.id = a.actor_id
         WHERE n.recipient_id = $1
        """,
        recipient.user.id,
    )
    return {row["username"] for row in rows}


async def test_no_live_notification_crosses_a_block_either_way(
    live: LiveApp, settings: Settings
) -> None:
    alice, bob, carol = await accounts(live, settings, "alice", "bob", "carol")
    first, second, third = [await alice.post(f"photo {n}") for n in (1, 2, 3)]
    bobs = await bob.post("bob's photo")
    carols = await carol.post("carol's photo")
    alice_channel = redis_keys.user_events_channel(alice.user.id)
    bob_channel = redis_keys.user_events_channel(bob.user.id)

    async with (
        subscribed(alice, NOTIFICATION_RECEIVED) as alice_live,
        subscribed(bob, NOTIFICATION_RECEIVED) as bob_live,
    ):
        # The socket's session watch and the subscription: two listeners per channel.
        await until_listening(live.resources, alice_channel, 2)
        await until_listening(live.resources, bob_channel, 2)

        # Before the block, bob's like reaches alice live.
        assert await bob.like(first) == []
        assert await alice_live.next_notification() == {
            "kind": "LIKE",
            "actorCount": 1,
            "actor": {"username": "bob"},
            "post": {"id": first},
            "comment": None,
        }

        await alice.block(bob)

        # The blocked side: refused as if alice's posts did not exist, and a mention of alice
        # (on carol's post, and in a caption) is plain text.
        assert await bob.like(second) == ["NOT_FOUND"]
        assert await bob.comment(second, "hello @alice") == ["NOT_FOUND"]
        assert await bob.comment(carols, "look @alice") == []
        await bob.post("hi @alice")
        # The blocker: refused BLOCKED, and nothing reaches bob either.
        assert await alice.like(bobs) == ["BLOCKED"]
        assert await alice.comment(bobs, "hello") == ["BLOCKED"]
        assert await alice.comment(carols, "hey @bob") == ["BLOCKED"]

        # A later event on each channel must be the very next message: nothing came before it.
        assert await carol.like(third) == []
        assert await alice_live.next_notification() == {
            "kind": "LIKE",
            "actorCount": 1,
            "actor": {"username": "carol"},
            "post": {"id": third},
            "comment": None,
        }
        assert await carol.comment(bobs, "nice @bob") == []
        got = await bob_live.next_notification()
        assert got["actor"] == {"username": "carol"}, got
        assert got["kind"] in ("COMMENT", "MENTION"), got

    # Nothing across the block was stored either (the like before the block left with it).
    assert "bob" not in await actors_in_store(live, alice)
    assert "alice" not in await actors_in_store(live, bob)
    assert {n["actor"]["username"] for n in await notifications_of(alice)} == {"carol"}
    assert {n["actor"]["username"] for n in await notifications_of(bob)} == {"carol"}


async def test_counts_of_a_post_stop_for_a_viewer_blocked_meanwhile(
    live: LiveApp, settings: Settings
) -> None:
    alice, bob, carol = await accounts(live, settings, "alice", "bob", "carol")
    photo = await alice.post("photo")
    channel = redis_keys.post_events_channel(_record_id(photo))

    async with subscribed(bob, POST_COUNTS_CHANGED, {"id": photo}) as bob_counts:
        await until_listening(live.resources, channel, 1)
        assert await carol.like(photo) == []
        assert await bob_counts.next_message() == {
            "id": "s",
            "type": "next",
            "payload": {"data": {"postCountsChanged": {"id": photo, "likeCount": 1}}},
        }
        await alice.block(bob)
        await carol.comment(photo, "lovely")
        # The next change ends bob's subscription: he may no longer see the post.
        assert await bob_counts.next_message() == {"id": "s", "type": "complete"}

    # Subscribing again after the block is refused at once (completes without an event).
    async with subscribed(bob, POST_COUNTS_CHANGED, {"id": photo}) as again:
        assert await again.next_message() == {"id": "s", "type": "complete"}


def _record_id(global_id: str) -> int:
    record_id = decode_id_of_type(global_id, "Post")
    assert record_id is not None
    return record_id
