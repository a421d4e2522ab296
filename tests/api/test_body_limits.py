"""Request size limits: bodies over MAX_REQUEST_BODY_BYTES are refused with 413 and a
GraphQL-shaped error, whether Content-Length announces them or a chunked body grows past the
limit (counted while it streams, never read further); uploads keep their own signed limit;
websocket messages over MAX_WEBSOCKET_MESSAGE_BYTES close the socket with 1009."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
import websockets
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import Message
from websockets.exceptions import ConnectionClosed

from resources import Resources
from settings import Settings
from tests.api.configured import app_with
from tests.api.helpers import PASSWORD, SIGN_UP, sign_up
from tests.api.test_media_api import create_upload
from tests.conftest import LiveApp
from web.security import BodySizeLimitMiddleware

MiB = 1024 * 1024
PROTOCOL = websockets.Subprotocol("graphql-transport-ws")


def too_large(limit: int) -> dict[str, object]:
    return {
        "errors": [
            {
                "message": f"The request body is larger than {limit} bytes.",
                "extensions": {"code": "PAYLOAD_TOO_LARGE"},
            }
        ]
    }


def sign_up_body(size: int) -> bytes:
    """A valid signUp request padded with JSON whitespace to exactly `size` bytes."""
    variables = {"input": {"username": "big", "email": "big@example.com", "password": PASSWORD}}
    body = json.dumps({"query": SIGN_UP, "variables": variables}).encode()
    assert len(body) < size
    return body[:-1] + b" " * (size - len(body)) + b"}"


async def test_a_body_over_the_limit_is_refused_from_its_content_length(live: LiveApp) -> None:
    response = await live.http.post(
        "/graphql", content=sign_up_body(MiB + 1), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/json"
    assert response.json() == too_large(MiB)
    assert len(response.headers["x-request-id"]) == 32
    assert response.headers["x-content-type-options"] == "nosniff"
    assert await live.resources.db.fetchval("SELECT count(*) FROM users") == 0


async def test_a_body_of_exactly_the_limit_is_served(live: LiveApp) -> None:
    response = await live.http.post(
        "/graphql", content=sign_up_body(MiB), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    assert response.json()["data"]["signUp"]["userErrors"] == []
    assert await live.resources.db.fetchval("SELECT count(*) FROM users") == 1


async def chunks(body: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def test_a_chunked_body_growing_past_the_limit_is_refused(live: LiveApp) -> None:
    # A raw HTTP/1.1 client: it sends chunks until just past the limit, never the last chunk,
    # and the 413 must come anyway (the server does not wait for, nor read, the rest).
    host, port = live.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        b"POST /graphql HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n"
        b"transfer-encoding: chunked\r\n\r\n"
    )
    body = sign_up_body(2 * MiB)
    for start in range(0, MiB + 64 * 1024, 64 * 1024):
        chunk = body[start : start + 64 * 1024]
        writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), timeout=10)  # the server closes after it
    writer.close()
    head, _, content = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 "), head
    assert b"\r\nconnection: close" in head
    assert json.loads(content) == too_large(MiB)
    assert await live.resources.db.fetchval("SELECT count(*) FROM users") == 0

    served = await live.http.post(
        "/graphql", content=chunks(sign_up_body(MiB)), headers={"content-type": "application/json"}
    )
    assert "content-length" not in served.request.headers
    assert served.status_code == 200
    assert served.json()["data"]["signUp"]["userErrors"] == []


async def test_a_streamed_body_is_not_read_past_the_limit() -> None:
    """ASGI level: the read that passes the limit is the last one, and the app never sees it."""
    seen: list[int] = []

    async def endpoint(request: Request) -> JSONResponse:
        async for chunk in request.stream():
            seen.append(len(chunk))
        return JSONResponse({"read": sum(seen)})

    app = Starlette(
        routes=[Route("/graphql", endpoint, methods=["POST"])],
        middleware=[Middleware(BodySizeLimitMiddleware, max_bytes=1000)],
    )
    pulled = 0

    async def receive() -> Message:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"x" * 300, "more_body": pulled < 100}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"transfer-encoding", b"chunked")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    await app(scope, receive, send)
    assert pulled == 4  # 1,200 bytes: the fourth read passed the limit
    assert seen == [300, 300, 300]
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"]) == too_large(1000)


async def test_uploads_keep_their_own_signed_limit(live: LiveApp) -> None:
    token = (await sign_up(live, "uploader"))["accessToken"]
    data = b"\xff\xd8\xff" + b"0" * (2 * MiB)
    created = await create_upload(live, token, data, "image/jpeg")
    assert created["userErrors"] == []
    headers = {h["name"]: h["value"] for h in created["uploadHeaders"]}  # type: ignore[union-attr]
    url = str(created["uploadUrl"])
    stored = await live.http.put(url, content=data, headers=headers)
    assert stored.status_code == 200, stored.text
    chunked = await live.http.put(url, content=chunks(data), headers=headers)
    assert chunked.status_code == 200, chunked.text
    longer = await live.http.put(url, content=data + b"0", headers=headers)
    assert longer.status_code == 413
    assert longer.json() == {"error": f"body exceeds the signed size of {len(data)} bytes"}


@pytest.fixture
async def small_ws_limit(settings: Settings, clean: Resources) -> AsyncIterator[str]:
    async with app_with(settings, clean, max_websocket_message_bytes=4096) as limited:
        yield limited.ws_url


async def test_a_websocket_message_over_the_limit_closes_the_socket_with_1009(
    small_ws_limit: str,
) -> None:
    async with websockets.connect(small_ws_limit, subprotocols=[PROTOCOL]) as socket:
        # Under the limit: an ordinary (refused, unauthenticated) connection_init is read.
        await socket.send(json.dumps({"type": "connection_init", "payload": {"x": "y" * 3000}}))
        with pytest.raises(ConnectionClosed) as closed:
            await socket.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4403

    async with websockets.connect(small_ws_limit, subprotocols=[PROTOCOL]) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {"x": "y" * 5000}}))
        with pytest.raises(ConnectionClosed) as closed:
            await socket.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009
