"""HTTP hardening as pure ASGI middleware (no BaseHTTPMiddleware: nothing is buffered, and a
request costs a few dictionary lookups), plus the uvicorn options that belong with it.

- `SecurityHeadersMiddleware`: nosniff, no referrer, no framing, cross-origin isolation headers
  and a Content-Security-Policy on every HTTP response (a strict one for the GraphiQL page, a
  "nothing at all" one for everything else), and HSTS when the deployment says it is HTTPS-only.
- `BodySizeLimitMiddleware`: 413 with a GraphQL-shaped error for request bodies larger than the
  limit, refused from `Content-Length` before a byte is read, or counted while a chunked body
  streams in (never buffered here). Upload routes are exempt: they enforce their own signed size.
- `BodyReadTimeoutMiddleware` (web.read_timeouts): 408 for a body that does not arrive in
  time (whole body; for uploads, between chunks); `server_options` adds the header read timeout
  (a uvicorn protocol of the same module).
- The client address (log-in and sign-up limits, the anonymous budget) is the ASGI scope's
  client, which uvicorn rewrites from `X-Forwarded-For` only when the peer is a trusted proxy
  (`server_options`); the GraphQL endpoint puts it on the Context.
- CORS is Starlette's `CORSMiddleware`, configured by `security_middleware` from
  `allowed_origins`: nothing when empty (no CORS headers at all), any origin for `["*"]`.

See docs/security.md.
"""

from __future__ import annotations

from typing import Any

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from settings import Settings
from web.asgi_errors import TrackedSend, send_error_and_close
from web.read_timeouts import BodyReadTimeoutMiddleware, header_timeout_protocol

UPLOAD_PATH_PREFIX = "/uploads/"
MEDIA_PATH_PREFIX = "/media/"

# GraphiQL (vendored under static/graphiql) loads only same-origin scripts and styles; its CSS
# embeds fonts and icons as data: URLs; queries go to /graphql over fetch and subscriptions over
# a same-host WebSocket (CSP3: 'self' covers ws:/wss: of the same host). No 'unsafe-inline' at
# all: checked in headless Chromium, the page loads, runs queries and opens its dialogs with no
# violation but one, the <style> element react-remove-scroll adds while a dialog is open (it
# would hide the page's scroll bar, and GraphiQL's full-window layout has none): refusing it
# changes nothing visible. React and CodeMirror set styles through the CSSOM, which CSP allows.
GRAPHIQL_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# Everything else is data (JSON, media, assets): nothing in it may run or load anything.
API_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
HSTS = "max-age=31536000"


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        common = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if hsts:
            common.append((b"strict-transport-security", HSTS.encode()))
        self._common = common
        self._names = {name for name, _ in common} | {
            b"content-security-policy",
            b"cross-origin-resource-policy",
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Media may be embedded by web apps on other origins (<img src>); nothing else may.
        resource_policy = (
            b"cross-origin" if scope["path"].startswith(MEDIA_PATH_PREFIX) else b"same-origin"
        )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[tuple[bytes, bytes]] = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers if name.lower() in self._names}
                html = any(
                    name.lower() == b"content-type" and value.startswith(b"text/html")
                    for name, value in headers
                )
                added = [(name, value) for name, value in self._common if name not in present]
                if b"content-security-policy" not in present:
                    csp = GRAPHIQL_CSP if html else API_CSP
                    added.append((b"content-security-policy", csp.encode()))
                if b"cross-origin-resource-policy" not in present:
                    added.append((b"cross-origin-resource-policy", resource_policy))
                message = {**message, "headers": headers + added}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _BodyTooLargeError(Exception):
    """Raised from `receive` once a streamed body passes the limit."""


class BodySizeLimitMiddleware:
    """Refuses request bodies over `max_bytes` with 413 and a GraphQL-shaped JSON error.

    With a `Content-Length` the refusal comes before the app runs (the server itself stops a
    body at its declared length). Without one (chunked), the bytes are counted as the app reads
    them and the read that passes the limit ends the request with 413. Paths under `/uploads/`
    pass untouched: they are bounded by their signed size. Side effects: none beyond the reply.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UPLOAD_PATH_PREFIX):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None:
            if declared > self.max_bytes:
                await self._refuse(send)
            else:
                await self.app(scope, receive, send)
            return

        received = 0
        tracked = TrackedSend(send)

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLargeError
            return message

        try:
            await self.app(scope, counting_receive, tracked)
        except _BodyTooLargeError:
            if tracked.started:  # the app answered before reading it all: nothing more to say
                raise
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        message = f"The request body is larger than {self.max_bytes} bytes."
        await send_error_and_close(send, 413, message, "PAYLOAD_TOO_LARGE")


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def security_middleware(settings: Settings) -> list[Middleware]:
    """The security middleware, outermost first (for after RequestIdMiddleware): headers on
    every answer (CORS preflights, 408s and 413s included), CORS, the body read timeout, the
    body limit, the client address.
    """
    stack = [Middleware(SecurityHeadersMiddleware, hsts=settings.hsts_enabled)]
    if settings.allowed_origins:
        wildcard = "*" in settings.allowed_origins
        stack.append(
            Middleware(
                CORSMiddleware,
                allow_origins=["*"] if wildcard else settings.allowed_origins,
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type"],
                expose_headers=["X-Request-ID"],
                # Bearer tokens travel in a header, not in cookies: no credentialed requests.
                allow_credentials=False,
                max_age=settings.cors_max_age_seconds,
            )
        )
    stack += [
        Middleware(
            BodyReadTimeoutMiddleware,
            body_seconds=settings.http_body_timeout_seconds,
            upload_idle_seconds=settings.http_upload_idle_timeout_seconds,
            upload_prefix=UPLOAD_PATH_PREFIX,
        ),
        Middleware(BodySizeLimitMiddleware, max_bytes=settings.max_request_body_bytes),
    ]
    return stack


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn.Config options of the security settings: the largest websocket message (a larger
    one closes the socket with 1009), which proxies' X-Forwarded-* headers are believed, and the
    HTTP protocol with the header read timeout (web.read_timeouts)."""
    return {
        "http": header_timeout_protocol(settings.http_header_timeout_seconds),
        "ws_max_size": settings.max_websocket_message_bytes,
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
    }
