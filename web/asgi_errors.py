"""What body-reading middleware needs: whether the app has started its response, and a
GraphQL-shaped error answered straight from the middleware, before (or instead of) the app."""

from __future__ import annotations

import orjson
from starlette.types import Message, Send


async def send_error_and_close(send: Send, status: int, message: str, code: str) -> None:
    """Answer `status` with `{"errors": [{"message": ..., "extensions": {"code": ...}}]}` and
    `Connection: close`. Side effects: sends the whole response on `send`."""
    body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class TrackedSend:
    """The app's `send`, remembering whether the response has started (after which middleware
    can no longer answer with an error of its own)."""

    __slots__ = ("send", "started")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self.send(message)
