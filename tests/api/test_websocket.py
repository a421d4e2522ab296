"""graphql-transport-ws on the real app: the token travels in `connection_init`."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from schema.global_ids import decode_id_of_type
from storage import redis_keys
from tests.api.helpers import log_in, refresh, sign_up
from tests.conftest import LiveApp

PROTOCOL = websockets.Subprotocol("graphql-transport-ws")


async def test_operation_over_websocket_with_token_in_connection_init(live: LiveApp) -> None:
    token = (await sign_up(live, "wendy"))["accessToken"]
    async with websockets.connect(live.ws_url, subprotocols=[PROTOCOL]) as socket:
        await socket.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        )
        ack = await socket.recv()
        assert isinstance(ack, str), "graphql-transport-ws messages are text frames"
        assert json.loads(ack) == {"type": "connection_ack"}
        await socket.send(
            json.dumps(
                {"id": "1", "type": "subscribe", "payload": {"query": "{ viewer { username } }"}}
            )
        )
        assert json.loads(await socket.recv()) == {
            "id": "1",
            "type": "next",
            "payload": {"data": {"viewer": {"username": "wendy"}}},
        }
        assert json.loads(await socket.recv()) == {"id": "1", "type": "complete"}


async def close_by_server(socket: websockets.ClientConnection) -> tuple[int, str]:
    """(code, reason) of the close frame the server sends next (nothing else comes first)."""
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(socket.recv(), timeout=5)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


@pytest.mark.parametrize(
    "payload",
    [
        {"authorization": "Bearer not-a-token"},
        {"authorization": "Basic abc"},
        {"authorization": 42},
        {},
    ],
)
async def test_missing_or_bad_token_closes_the_socket_with_4403(
    live: LiveApp, payload: dict[str, object]
) -> None:
    async with websockets.connect(live.ws_url, subprotocols=[PROTOCOL]) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
        code, _ = await close_by_server(socket)
    assert code == 4403


async def signed_in_socket(live: LiveApp, token: str) -> websockets.ClientConnection:
    """A graphql-transport-ws socket, acknowledged, subscribed to the viewer's notifications."""
    socket = await websockets.connect(live.ws_url, subprotocols=[PROTOCOL])
    await socket.send(
        json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
    )
    assert json.loads(await socket.recv()) == {"type": "connection_ack"}
    subscribe = {"query": "subscription { notificationReceived { id } }"}
    await socket.send(json.dumps({"id": "live", "type": "subscribe", "payload": subscribe}))
    return socket


async def viewer_over(socket: websockets.ClientConnection) -> object:
    """The answer of `{ viewer { username } }` run on the socket (its `next`, then `complete`)."""
    query = {"query": "{ viewer { username } }"}
    await socket.send(json.dumps({"id": "q", "type": "subscribe", "payload": query}))
    answer = json.loads(await asyncio.wait_for(socket.recv(), timeout=5))
    assert json.loads(await asyncio.wait_for(socket.recv(), timeout=5)) == {
        "id": "q",
        "type": "complete",
    }
    return answer


async def test_a_session_that_ends_closes_its_sockets_and_no_others(live: LiveApp) -> None:
    ending = (await sign_up(live, "ursula"))["accessToken"]
    other = await log_in(live, "ursula")
    ending_socket = await signed_in_socket(live, ending)
    other_socket = await signed_in_socket(live, other["accessToken"])
    answer = {"id": "q", "type": "next", "payload": {"data": {"viewer": {"username": "ursula"}}}}
    try:
        assert await viewer_over(ending_socket) == answer
        assert await live.graphql("mutation { logOut(input: {}) { ok } }", token=ending) == {
            "data": {"logOut": {"ok": True}}
        }
        assert await close_by_server(ending_socket) == (4403, "session ended")
        assert await viewer_over(other_socket) == answer
    finally:
        await ending_socket.close()
        await other_socket.close()


async def test_a_replayed_refresh_token_closes_the_sockets_of_its_session(live: LiveApp) -> None:
    await sign_up(live, "valerie")
    session = await log_in(live, "valerie")
    socket = await signed_in_socket(live, session["accessToken"])
    try:
        assert (await refresh(live, session["refreshToken"]))["userErrors"] == []
        assert await viewer_over(socket) == {
            "id": "q",
            "type": "next",
            "payload": {"data": {"viewer": {"username": "valerie"}}},
        }
        replayed = await refresh(live, session["refreshToken"])
        assert replayed["userErrors"] == [{"code": "INVALID_CREDENTIALS", "field": None}]
        code, _ = await close_by_server(socket)
        assert code == 4403
    finally:
        await socket.close()


async def test_a_token_of_an_ended_session_is_refused_and_leaves_nothing(live: LiveApp) -> None:
    signed_up = await sign_up(live, "yara")
    user_id = decode_id_of_type(signed_up["viewer"]["id"], "User")
    assert user_id is not None
    assert await live.graphql(
        "mutation { logOut(input: {}) { ok } }", token=signed_up["accessToken"]
    ) == {"data": {"logOut": {"ok": True}}}
    async with websockets.connect(live.ws_url, subprotocols=[PROTOCOL]) as socket:
        authorization = f"Bearer {signed_up['accessToken']}"
        await socket.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": authorization}})
        )
        code, _ = await close_by_server(socket)
    assert code == 4403
    channel = redis_keys.user_events_channel(user_id)
    for _ in range(500):  # the refused socket's watch stops listening as the socket ends
        if await live.resources.redis.pubsub_numsub(channel) == [(channel.encode(), 0)]:
            break
        await asyncio.sleep(0.01)
    else:
        pytest.fail(f"{channel} still has a listener")
