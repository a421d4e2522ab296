"""Live events across a block (docs/privacy.md): `postCountsChanged` of a post the viewer may
no longer see ends at its next event, and is refused (completes at once) afterwards. Real app
over graphql-transport-ws; waits on the subscriptions themselves, never on a guessed sleep."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import websockets

from schema.global_ids import encode_global_id
from services import likes, safety
from services.auth import Viewer
from storage import redis_keys
from tests.api.helpers import sign_up
from tests.conftest import LiveApp
from tests.feed_factories import at, insert_post
from tests.waits import until_listening, until_not_listening

PROTOCOL = websockets.Subprotocol("graphql-transport-ws")
SECONDS = 10.0
COUNTS = "subscription C($postId: ID!) { postCountsChanged(postId: $postId) { id likeCount } }"


async def account(live: LiveApp, name: str) -> tuple[int, str]:
    token = (await sign_up(live, name))["accessToken"]
    user_id = await live.resources.db.fetchval("SELECT id FROM users WHERE username = $1", name)
    assert isinstance(user_id, int)
    return user_id, token


def viewer(user_id: int) -> Viewer:
    return Viewer(user_id=user_id, session_id=uuid.uuid4())


async def frame(socket: websockets.ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(socket.recv(), timeout=SECONDS))
    return message


async def test_post_counts_end_for_a_viewer_the_author_blocks(live: LiveApp) -> None:
    social = live.resources.social
    ann_id, _ = await account(live, "ann")
    ben_id, ben_token = await account(live, "ben")
    cat_id, _ = await account(live, "cat")
    dan_id, _ = await account(live, "dan")
    post_id = await insert_post(live.resources.db, ann_id, at(1))
    global_id = str(encode_global_id("Post", post_id))
    channel = redis_keys.post_events_channel(post_id)

    async with websockets.connect(live.ws_url, subprotocols=[PROTOCOL]) as socket:
        init = {"authorization": f"Bearer {ben_token}"}
        await socket.send(json.dumps({"type": "connection_init", "payload": init}))
        assert await frame(socket) == {"type": "connection_ack"}

        async def subscribe(operation_id: str) -> None:
            payload = {"query": COUNTS, "variables": {"postId": global_id}}
            message = {"id": operation_id, "type": "subscribe", "payload": payload}
            await socket.send(json.dumps(message))

        await subscribe("1")
        await until_listening(live.resources, channel, 1)
        await likes.like_post(social, viewer(cat_id), post_id)
        assert await frame(socket) == {
            "id": "1",
            "type": "next",
            "payload": {"data": {"postCountsChanged": {"id": global_id, "likeCount": 1}}},
        }

        await safety.block_user(social, viewer(ann_id), ben_id)
        # The next change ends the subscription instead of showing the post.
        await likes.like_post(social, viewer(dan_id), post_id)
        assert await frame(socket) == {"id": "1", "type": "complete"}
        await until_not_listening(live.resources, channel)

        # Subscribing again is refused: it completes at once, nothing is delivered.
        await subscribe("2")
        assert await frame(socket) == {"id": "2", "type": "complete"}
        await until_not_listening(live.resources, channel)
