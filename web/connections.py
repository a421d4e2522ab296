"""Connection bookkeeping at the ASGI level: the access log line of each HTTP request, the count
of open websockets, and closing every websocket with 1001 (going away) when the server shuts
down (uvicorn itself would send 1012, "service restart", only after its grace period)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from time import perf_counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from metrics import OPEN_WEBSOCKETS

access_log = logging.getLogger("shutter.access")

GOING_AWAY = 1001
"""RFC 6455: "an endpoint is going away, such as a server going down"."""


class _Socket:
    __slots__ = ("closed", "done", "send")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.closed = False
        self.done = asyncio.Event()


class WebSocketRegistry:
    """The accepted websockets of this process, for closing them all at shutdown."""

    def __init__(self) -> None:
        self._open: set[_Socket] = set()
        self.shutting_down = False

    def _add(self, socket: _Socket) -> None:
        self._open.add(socket)
        OPEN_WEBSOCKETS.inc()

    def _remove(self, socket: _Socket) -> None:
        if socket in self._open:
            self._open.discard(socket)
            OPEN_WEBSOCKETS.dec()

    async def close_all(self, *, code: int = GOING_AWAY, wait_seconds: float = 2.0) -> int:
        """Send a close frame with `code` on every open websocket and wait (at most
        `wait_seconds`) until their handlers have ended; returns how many were closed.

        Side effects: from now on new websockets are refused (closed before accept) and the
        application's later frames on the closed sockets are dropped; the application sees a
        `websocket.disconnect` with `code` and cleans up its subscriptions as usual.
        """
        self.shutting_down = True
        sockets = list(self._open)
        for socket in sockets:
            if not socket.closed:
                socket.closed = True
                with contextlib.suppress(Exception):  # the peer may be gone already
                    await socket.send(
                        {"type": "websocket.close", "code": code, "reason": "server shutting down"}
                    )
        if sockets:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait_seconds):
                    await asyncio.gather(*(socket.done.wait() for socket in sockets))
        return len(sockets)


class ConnectionsMiddleware:
    """Logs one access line per HTTP request (method, path, status, duration_ms and, through
    the log context, request_id) when `access_log` is on, and tracks websockets in `registry`
    (the `shutter_open_websockets` gauge; going-away close at shutdown). Sits inside
    RequestIdMiddleware so that the request id is bound."""

    def __init__(self, app: ASGIApp, *, registry: WebSocketRegistry, access_log: bool) -> None:
        self.app = app
        self.registry = registry
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        elif scope["type"] == "http" and self.access_log:
            await self._http(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = perf_counter()
        status = 500  # what a client sees when the application fails before answering

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            access_log.info(
                "%s %s %d",
                scope["method"],
                scope["path"],
                status,
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((perf_counter() - started) * 1000, 2),
                },
            )

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        registry = self.registry
        if registry.shutting_down:
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": GOING_AWAY})
            return
        socket = _Socket(send)

        async def tracked_send(message: Message) -> None:
            if socket.closed:
                return  # closed by close_all: later frames have nowhere to go
            if message["type"] == "websocket.accept":
                await send(message)
                registry._add(socket)
                return
            if message["type"] == "websocket.close":
                socket.closed = True
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        finally:
            registry._remove(socket)
            socket.done.set()
