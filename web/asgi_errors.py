"""A GraphQL-shaped error answered straight from ASGI middleware, before (or instead of) the app."""

from __future__ import annotations

import orjson
from starlette.types import Send


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
