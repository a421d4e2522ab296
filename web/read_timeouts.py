"""Read timeouts for HTTP requests: a client must send its request's headers, and then its body,
in bounded time, or its connection is dropped (slowloris: a few hundred connections trickling a
byte every few seconds would otherwise hold the server's connections forever).

- Headers: `header_timeout_protocol(seconds)` is uvicorn's httptools protocol with one more
  timer, armed when a connection opens and when the first bytes of a next request arrive on a
  kept-alive connection without completing its headers, cancelled when they are complete. When
  it fires, a partial request is answered 408 and the connection closed; an idle new connection
  is just closed. (Between requests uvicorn's own keep-alive timer closes an idle connection,
  but any byte cancels it; a new connection has none at all.)
- Body: `BodyReadTimeoutMiddleware` bounds the app's reads of the body: the whole body within
  `body_seconds` of the request's headers, or, for streamed uploads (paths under
  `upload_prefix`), at most `upload_idle_seconds` between two chunks. On expiry: 408 with a
  GraphQL-shaped error and `Connection: close` when nothing was answered yet; otherwise the app
  sees the client as gone (and the header timer closes the connection if the client goes on
  trickling).
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from web.asgi_errors import TrackedSend, send_error_and_close

REQUEST_TIMEOUT = "REQUEST_TIMEOUT"
_HEADER_TIMEOUT_BODY = b"Request headers not received in time."


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """uvicorn's HttpToolsProtocol with a header read timeout of `header_timeout` seconds (a
    class attribute: uvicorn makes protocols itself, from a class; see
    `header_timeout_protocol`)."""

    header_timeout: float = 10.0

    _header_timer: asyncio.TimerHandle | None = None
    _awaiting_headers = False
    """Between requests (or before the first): the next bytes start a request's headers."""
    _partial_request = False
    """Bytes of a request whose headers are not complete yet have arrived."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Side effect: arms the header timer (a new connection must send headers in time)."""
        super().connection_made(transport)
        self._awaiting_headers = True
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        """Side effect: bytes of a next request that leave its headers incomplete arm the
        header timer (a request arriving whole arms none)."""
        if self._awaiting_headers:
            self._partial_request = True
        super().data_received(data)
        if (
            self._awaiting_headers
            and self._header_timer is None
            and not self.transport.is_closing()
        ):
            self._arm_header_timer()

    def on_headers_complete(self) -> None:
        """Side effect: cancels the header timer (websocket upgrades included)."""
        self._awaiting_headers = False
        self._partial_request = False
        self._cancel_header_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        """Side effect: unless a pipelined request (headers complete) starts now, the next
        bytes are a next request's headers."""
        starts_pipelined = bool(self.pipeline)
        super().on_response_complete()
        if not starts_pipelined:
            self._awaiting_headers = True

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        self._header_timer = self.loop.call_later(self.header_timeout, self._on_header_timeout)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _on_header_timeout(self) -> None:
        """Side effects: a 408 for a partial request, then the connection closed."""
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self._partial_request:
            self.transport.write(_response_408(self.server_state.default_headers))
        self.transport.close()


def _response_408(default_headers: list[tuple[bytes, bytes]]) -> bytes:
    content = [STATUS_LINE[408]]
    for name, value in default_headers:
        content.extend([name, b": ", value, b"\r\n"])
    content.extend(
        [
            b"content-type: text/plain; charset=utf-8\r\n",
            b"content-length: " + str(len(_HEADER_TIMEOUT_BODY)).encode("ascii") + b"\r\n",
            b"connection: close\r\n",
            b"\r\n",
            _HEADER_TIMEOUT_BODY,
        ]
    )
    return b"".join(content)


def header_timeout_protocol(seconds: float) -> type[HeaderTimeoutProtocol]:
    """A HeaderTimeoutProtocol class whose header timeout is `seconds` (for uvicorn's `http=`)."""
    return type("HeaderTimeoutProtocol", (HeaderTimeoutProtocol,), {"header_timeout": seconds})


def _has_body(scope: Scope) -> bool:
    """Whether the request announces a body (a Content-Length above 0, or chunked)."""
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    for name, value in headers:
        if name == b"content-length":
            return value != b"0"
        if name == b"transfer-encoding":
            return True
    return False


class _BodyTimeoutError(Exception):
    """Raised from `receive` when the body does not arrive in time."""


class BodyReadTimeoutMiddleware:
    """Bounds the reads of a request body: the whole body within `body_seconds` of the app's
    call (every route but uploads), or at most `upload_idle_seconds` between two chunks (paths
    under `upload_prefix`, whose large bodies stream). Reads after the body (an app waiting for
    the client to disconnect), and requests announcing no body, are not bounded. Side effects:
    the 408 answer on expiry."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        body_seconds: float,
        upload_idle_seconds: float,
        upload_prefix: str,
    ) -> None:
        self.app = app
        self.body_seconds = body_seconds
        self.upload_idle_seconds = upload_idle_seconds
        self.upload_prefix = upload_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _has_body(scope):
            await self.app(scope, receive, send)  # nothing to wait for: no timer (~5 µs)
            return
        loop = asyncio.get_running_loop()
        upload = scope["path"].startswith(self.upload_prefix)
        deadline = loop.time() + self.body_seconds
        body_complete = False
        tracked = TrackedSend(send)

        async def receive_in_time() -> Message:
            nonlocal body_complete
            if body_complete:
                return await receive()
            expiry = loop.time() + self.upload_idle_seconds if upload else deadline
            try:
                async with asyncio.timeout_at(expiry):
                    message = await receive()
            except TimeoutError:
                # The app answered already: it may only learn that the client is gone.
                if tracked.started:
                    body_complete = True
                    return {"type": "http.disconnect"}
                raise _BodyTimeoutError from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_complete = True
            return message

        try:
            await self.app(scope, receive_in_time, tracked)
        except _BodyTimeoutError:
            if tracked.started:  # pragma: no cover (receive_in_time does not raise once started)
                raise
            await self._refuse(send, upload)

    async def _refuse(self, send: Send, upload: bool) -> None:
        if upload:
            message = f"The upload paused for more than {self.upload_idle_seconds} seconds."
        else:
            message = f"The request body did not arrive within {self.body_seconds} seconds."
        await send_error_and_close(send, 408, message, REQUEST_TIMEOUT)


__all__ = [
    "REQUEST_TIMEOUT",
    "BodyReadTimeoutMiddleware",
    "HeaderTimeoutProtocol",
    "header_timeout_protocol",
]
