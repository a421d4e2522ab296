"""graphql-transport-ws limits on the real app: the connection_init timeout, the protocol's close
codes, the number of operations per socket, and which browser origins may connect."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from resources import Resources
from settings import Settings
from tests.api.configured import app_with
from tests.api.helpers import sign_up
from tests.conftest import LiveApp

PROTOCOL = websockets.Subprotocol("graphql-transport-ws")
LIVE = {"query": "subscription { notificationReceived { id } }"}


async def close_code(socket: websockets.ClientConnection) -> int:
    """Wait for the server to close the socket (skipping messages); its close code."""
    with pytest.raises(ConnectionClosed) as closed:
        await drain(socket)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


async def drain(socket: websockets.ClientConnection) -> None:
    while True:
        await asyncio.wait_for(socket.recv(), timeout=5)


async def init(socket: websockets.ClientConnection, token: str) -> None:
    await socket.send(
        json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
    )
    assert json.loads(await socket.recv()) == {"type": "connection_ack"}


async def test_a_socket_without_connection_init_is_closed_with_4408(
    settings: Settings, clean: Resources
) -> None:
    async with (
        app_with(settings, clean, websocket_init_timeout_seconds=0.2) as served,
        websockets.connect(served.ws_url, subprotocols=[PROTOCOL]) as socket,
    ):
        started = asyncio.get_running_loop().time()
        assert await close_code(socket) == 4408
        assert asyncio.get_running_loop().time() - started < 3


async def test_protocol_violations_close_with_their_codes(live: LiveApp) -> None:
    token = (await sign_up(live, "wendy"))["accessToken"]
    # Subscribing before connection_init: 4401 Unauthorized.
    async with websockets.connect(live.ws_url, subprotocols=[PROTOCOL]) as socket:
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": LIVE}))
        assert await close_code(socket) == 4401
    # A second connection_init: 4429 Too many initialisation requests.
    async with websockets.connect(live.ws_url, subprotocols=[PROTOCOL]) as socket:
        await init(socket, token)
        await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert await close_code(socket) == 4429
    # An id already in use: 4409 Subscriber already exists.
    async with websockets.connect(live.ws_url, subprotocols=[PROTOCOL]) as socket:
        await init(socket, token)
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": LIVE}))
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": LIVE}))
        assert await close_code(socket) == 4409
    # A message of an unknown type: 4400 Bad request.
    async with websockets.connect(live.ws_url, subprotocols=[PROTOCOL]) as socket:
        await init(socket, token)
        await socket.send(json.dumps({"type": "nonsense"}))
        assert await close_code(socket) == 4400
    # A bad token in connection_init: 4403 Forbidden (tests/api/test_websocket.py has more).
    async with websockets.connect(live.ws_url, subprotocols=[PROTOCOL]) as socket:
        await socket.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": "Bearer x"}})
        )
        assert await close_code(socket) == 4403


async def test_operations_beyond_the_limit_get_an_error_and_the_others_go_on(
    settings: Settings, clean: Resources
) -> None:
    async with app_with(settings, clean, max_subscriptions_per_connection=2) as served:
        token = (await sign_up(served, "wendy"))["accessToken"]
        async with websockets.connect(served.ws_url, subprotocols=[PROTOCOL]) as socket:
            await init(socket, token)
            for operation_id in ("1", "2", "3"):
                await socket.send(
                    json.dumps({"id": operation_id, "type": "subscribe", "payload": LIVE})
                )
            assert json.loads(await asyncio.wait_for(socket.recv(), timeout=5)) == {
                "id": "3",
                "type": "error",
                "payload": [{"message": "Subscription limit reached"}],
            }
            # Completing one frees a place; the socket stays open.
            await socket.send(json.dumps({"id": "1", "type": "complete"}))
            await socket.send(json.dumps({"id": "3", "type": "subscribe", "payload": LIVE}))
            await socket.send(json.dumps({"type": "ping"}))
            assert json.loads(await asyncio.wait_for(socket.recv(), timeout=5)) == {"type": "pong"}


async def handshake(url: str, origin: str | None) -> int:
    """101 when the socket opens, else the HTTP status of the refused handshake."""
    try:
        async with websockets.connect(url, subprotocols=[PROTOCOL], origin=origin):  # type: ignore[arg-type]
            return 101
    except InvalidStatus as refused:
        return refused.response.status_code


async def test_browsers_on_other_origins_are_refused_unless_allowed(
    live: LiveApp, settings: Settings, clean: Resources
) -> None:
    same_origin = live.base_url
    assert await handshake(live.ws_url, None) == 101  # not a browser
    assert await handshake(live.ws_url, same_origin) == 101
    assert await handshake(live.ws_url, "https://evil.example") == 403
    assert await handshake(live.ws_url, "null") == 403
    async with app_with(settings, clean, allowed_origins=["https://app.example"]) as served:
        assert await handshake(served.ws_url, "https://app.example") == 101
        assert await handshake(served.ws_url, "https://evil.example") == 403
    async with app_with(settings, clean, allowed_origins=["*"]) as served:
        assert await handshake(served.ws_url, "https://evil.example") == 101
