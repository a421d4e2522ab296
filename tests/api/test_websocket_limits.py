"""graphql-transport-ws limits on the real app: the connection_init timeout, the protocol's close
codes, the number of operations per socket, and which browser origins may connect."""

from __future__ import annotations

import asyncio
import json
import logging

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


def invalid(problem: str) -> str:
    return f"Invalid message received: {problem}"


SUBSCRIBE = '{"id": "1", "type": "subscribe", "payload": %s}'
WRONG_SHAPES = [
    # Not an object.
    ("[]", invalid("not a JSON object")),
    ("1", invalid("not a JSON object")),
    ('"x"', invalid("not a JSON object")),
    ("null", invalid("not a JSON object")),
    # No type, or not one a client sends.
    ("{}", invalid("unknown `type`")),
    ('{"type": 1}', invalid("unknown `type`")),
    ('{"type": ["subscribe"]}', invalid("unknown `type`")),
    ('{"type": "next", "id": "1", "payload": {}}', invalid("unknown `type`")),
    ('{"type": "%s"}' % ("x" * 200), invalid("unknown `type`")),  # not echoed: 123 bytes at most
    # Payloads of the messages without an id.
    ('{"type": "ping", "payload": "x"}', invalid("`payload` must be an object or null")),
    ('{"type": "pong", "payload": []}', invalid("`payload` must be an object or null")),
    # Ids.
    ('{"type": "complete"}', invalid("`id` must be a string")),
    ('{"type": "complete", "id": {}}', invalid("`id` must be a string")),
    ('{"type": "complete", "id": 1}', invalid("`id` must be a string")),
    (
        '{"type": "subscribe", "id": [], "payload": {"query": "{ __typename }"}}',
        invalid("`id` must be a string"),
    ),
    # The subscribe payload.
    ('{"type": "subscribe", "id": "1"}', invalid("`payload` must be an object")),
    (SUBSCRIBE % '"{ __typename }"', invalid("`payload` must be an object")),
    (SUBSCRIBE % "[]", invalid("`payload` must be an object")),
    (SUBSCRIBE % "{}", invalid("`payload.query` must be a string")),
    (SUBSCRIBE % '{"query": 1}', invalid("`payload.query` must be a string")),
    (SUBSCRIBE % '{"query": ["{ __typename }"]}', invalid("`payload.query` must be a string")),
    (
        SUBSCRIBE % '{"query": "{ __typename }", "variables": []}',
        invalid("`payload.variables` must be an object or null"),
    ),
    (
        SUBSCRIBE % '{"query": "{ __typename }", "variables": "x"}',
        invalid("`payload.variables` must be an object or null"),
    ),
    (
        SUBSCRIBE % '{"query": "{ __typename }", "operationName": 1}',
        invalid("`payload.operationName` must be a string or null"),
    ),
    (
        SUBSCRIBE % '{"query": "{ __typename }", "extensions": 1}',
        invalid("`payload.extensions` must be an object or null"),
    ),
]


@pytest.mark.parametrize("acknowledged", [True, False], ids=["after-init", "first-message"])
async def test_messages_of_the_wrong_shape_close_with_4400_and_log_nothing(
    live: LiveApp, caplog: pytest.LogCaptureFixture, acknowledged: bool
) -> None:
    """Before: valid JSON of the wrong shape raised inside Strawberry's handler (a traceback in
    the log, the socket closed without a protocol code, or an operation task crashing)."""
    token = (await sign_up(live, "wendy"))["accessToken"]
    caplog.set_level(logging.INFO)
    async with websockets.connect(live.ws_url, subprotocols=[PROTOCOL]) as good:
        await init(good, token)
        for message, reason in WRONG_SHAPES:
            async with websockets.connect(live.ws_url, subprotocols=[PROTOCOL]) as socket:
                if acknowledged:
                    await init(socket, token)
                await socket.send(message)
                with pytest.raises(ConnectionClosed) as closed:
                    await drain(socket)
                assert closed.value.rcvd is not None, message
                assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4400, reason)
        # The good socket, open all along, still works.
        query = {"query": "{ viewer { username } }"}
        await good.send(json.dumps({"id": "q", "type": "subscribe", "payload": query}))
        assert json.loads(await asyncio.wait_for(good.recv(), timeout=5)) == {
            "id": "q",
            "type": "next",
            "payload": {"data": {"viewer": {"username": "wendy"}}},
        }
    # Nothing went wrong on the server's side: no error, no traceback.
    assert [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info] == []


async def test_a_connection_init_with_a_null_payload_is_one_without_credentials(
    live: LiveApp,
) -> None:
    """graphql-transport-ws allows `payload: null`; it carries no token: 4403, not 4400."""
    async with websockets.connect(live.ws_url, subprotocols=[PROTOCOL]) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": None}))
        assert await close_code(socket) == 4403


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
