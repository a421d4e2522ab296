"""Read timeouts over raw sockets to the real app served as `shutter serve` serves it (tiny
timeouts): trickled headers and bodies are dropped, normal and kept-alive requests and steady
uploads are not."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterable, Iterator
from urllib.parse import urlsplit

import orjson
import pytest

from resources import Resources
from settings import Settings
from tests.api.configured import app_with
from tests.api.helpers import sign_up
from tests.conftest import LiveApp

TIMEOUT = 0.5
"""Every read timeout of the app under test, in seconds."""
BOUND = 10.0
"""How long a test waits for the server to close a connection before it fails."""
CREATE_UPLOAD = """
mutation Create($input: CreateUploadInput!) {
  createUpload(input: $input) { uploadUrl uploadHeaders { name value } userErrors { code } }
}
"""


@pytest.fixture
async def served(settings: Settings, clean: Resources) -> AsyncIterator[LiveApp]:
    async with app_with(
        settings,
        clean,
        http_header_timeout_seconds=TIMEOUT,
        http_body_timeout_seconds=TIMEOUT,
        http_upload_idle_timeout_seconds=TIMEOUT,
    ) as app:
        yield app


@contextlib.asynccontextmanager
async def connection(
    app: LiveApp,
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    address = urlsplit(app.base_url)
    assert address.hostname is not None
    assert address.port is not None
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


@contextlib.asynccontextmanager
async def trickling(
    writer: asyncio.StreamWriter, parts: Iterable[bytes], pause: float
) -> AsyncIterator[None]:
    """Send `parts` one by one, `pause` seconds apart, while the block runs (a slow client)."""

    async def send() -> None:
        for part in parts:
            writer.write(part)
            await writer.drain()
            await asyncio.sleep(pause)

    task = asyncio.create_task(send())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await task


async def until_closed(reader: asyncio.StreamReader) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took
    (failing after BOUND seconds)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    received = await asyncio.wait_for(reader.read(), timeout=BOUND)
    return received, loop.time() - started


async def response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """The next response on the connection: status, headers, body (by Content-Length)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=BOUND)
    status_line, *lines = head.decode().split("\r\n")[:-2]
    headers = dict(line.lower().split(": ", 1) for line in lines)
    body = await reader.readexactly(int(headers["content-length"]))
    return int(status_line.split()[1]), headers, body


def header_lines() -> Iterator[bytes]:
    yield b"GET /healthz HTTP/1.1\r\nhost: a\r\n"
    for number in range(1000):
        yield b"x-%d: slow\r\n" % number


def graphql_post(query: str) -> bytes:
    body = orjson.dumps({"query": query})
    return (
        b"POST /graphql HTTP/1.1\r\nhost: a\r\ncontent-type: application/json\r\n"
        b"content-length: %d\r\n\r\n%s" % (len(body), body)
    )


@pytest.mark.parametrize("after_a_request", [False, True], ids=["new", "kept-alive"])
async def test_trickled_headers_get_408_and_the_connection_closes(
    served: LiveApp, after_a_request: bool
) -> None:
    async with connection(served) as (reader, writer):
        if after_a_request:
            writer.write(graphql_post("{ __typename }"))
            assert (await response(reader))[0] == 200
        async with trickling(writer, header_lines(), 0.05):
            received, took = await until_closed(reader)
    assert took >= TIMEOUT
    assert received.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert received.endswith(b"\r\n\r\nRequest headers not received in time.")


async def test_a_connection_that_sends_nothing_is_closed(served: LiveApp) -> None:
    async with connection(served) as (reader, _):
        received, took = await until_closed(reader)
    assert (received, took >= TIMEOUT) == (b"", True)


async def test_a_trickled_body_gets_408_and_the_connection_closes(served: LiveApp) -> None:
    request = graphql_post("{ __typename }")
    head, body = request.split(b"\r\n\r\n")
    parts = [head + b"\r\n\r\n", *(body[i : i + 1] for i in range(len(body)))]
    async with connection(served) as (reader, writer), trickling(writer, parts, 0.05):
        status, headers, answer = await response(reader)
        rest, _ = await until_closed(reader)
    assert (status, headers["connection"], rest) == (408, "close", b"")
    assert json.loads(answer) == {
        "errors": [
            {
                "message": f"The request body did not arrive within {TIMEOUT} seconds.",
                "extensions": {"code": "REQUEST_TIMEOUT"},
            }
        ]
    }


async def test_requests_on_a_kept_alive_connection_are_unaffected(served: LiveApp) -> None:
    """Two requests on one connection, idle between them for longer than the header timeout
    (the header timer starts with the next request's first byte; idle connections are
    uvicorn's keep-alive timeout's business, 5 s)."""
    async with connection(served) as (reader, writer):
        for _ in range(2):
            writer.write(graphql_post("{ __typename }"))
            status, headers, answer = await response(reader)
            assert (status, json.loads(answer)) == (200, {"data": {"__typename": "Query"}})
            assert headers.get("connection") != "close"
            await asyncio.sleep(2 * TIMEOUT)  # idle, as a client between two requests


async def create_upload(app: LiveApp, size: int) -> tuple[str, dict[str, str]]:
    """A signed upload of `size` bytes: the target (path and query) and the headers to send."""
    token = (await sign_up(app, "uploader"))["accessToken"]
    variables = {"input": {"filename": "a.jpg", "contentType": "image/jpeg", "byteSize": size}}
    created = (await app.graphql(CREATE_UPLOAD, variables, token=token))["data"]["createUpload"]
    assert created["userErrors"] == []
    url = urlsplit(created["uploadUrl"])
    headers = {header["name"].lower(): header["value"] for header in created["uploadHeaders"]}
    return f"{url.path}?{url.query}", headers


def upload_head(target: str, headers: dict[str, str], size: int) -> bytes:
    lines = [f"PUT {target} HTTP/1.1", "host: a", f"content-length: {size}"]
    lines += [f"{name}: {value}" for name, value in headers.items() if name != "content-length"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def test_an_upload_sent_in_steady_chunks_is_not_cut(served: LiveApp) -> None:
    """16 chunks, 0.1 s apart: longer in all than the body timeout of other routes, never idle
    for as long as the upload idle timeout."""
    chunks = [bytes([n]) * 1024 for n in range(16)]
    size = sum(map(len, chunks))
    target, headers = await create_upload(served, size)
    async with connection(served) as (reader, writer):
        writer.write(upload_head(target, headers, size))
        for chunk in chunks:
            await asyncio.sleep(TIMEOUT / 5)
            writer.write(chunk)
        status, answer_headers, answer = await response(reader)
    assert (status, answer) == (200, b""), answer
    assert "etag" in answer_headers


async def test_an_upload_that_stalls_gets_408(served: LiveApp) -> None:
    target, headers = await create_upload(served, 4096)
    async with connection(served) as (reader, writer):
        writer.write(upload_head(target, headers, 4096) + b"\0" * 1024)  # then nothing
        status, answer_headers, answer = await response(reader)
        rest, _ = await until_closed(reader)
    assert (status, answer_headers["connection"], rest) == (408, "close", b"")
    assert json.loads(answer)["errors"] == [
        {
            "message": f"The upload paused for more than {TIMEOUT} seconds.",
            "extensions": {"code": "REQUEST_TIMEOUT"},
        }
    ]
