"""Process-wide log context: the id of the request (or job) being served, for every log line."""

from __future__ import annotations

from contextvars import ContextVar

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the HTTP request, websocket or job this task serves, if any."""
    return _request_id.get()


def set_request_id(request_id: str | None) -> None:
    """Bind `request_id` to the current task (and tasks it starts from now on)."""
    _request_id.set(request_id)
