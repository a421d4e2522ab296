"""graphql-transport-ws on the real app: the token travels in `connection_init`."""

from __future__ import annotations

import json

import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from tests.api.helpers import sign_up
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
        with pytest.raises(ConnectionClosed) as closed:
            await socket.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4403
