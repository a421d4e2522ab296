"""Websockets end with their session. A socket is signed in once, at `connection_init`; when that
session is logged out or revoked later (services.accounts announces it on the user's events
channel), the socket is closed with 4403, so a signed-out device neither receives live events
nor runs operations on a socket it still holds."""

from __future__ import annotations

import asyncio
import contextlib

from starlette.websockets import WebSocket

from services.accounts import SESSION_ENDED_EVENT
from services.auth import Viewer
from storage import redis_keys
from storage.pubsub import Event, EventHub

SESSION_ENDED_CLOSE_CODE = 4403
"""graphql-transport-ws's "Forbidden", as for a socket whose `connection_init` is refused."""


class SessionWatch:
    """Closes one websocket when the session it signed in with ends. Holds no task while it
    waits: the process's EventHub calls it with each event of the user's channel."""

    def __init__(self, websocket: WebSocket, viewer: Viewer) -> None:
        self.websocket = websocket
        self.session_id = str(viewer.session_id)
        self.channel = redis_keys.user_events_channel(viewer.user_id)
        self._listening = contextlib.AsyncExitStack()
        self._closing: asyncio.Task[None] | None = None

    async def start(self, events: EventHub) -> None:
        """Listen on the viewer's events channel; returns once subscribed, so that a session
        that ends from then on is seen (check the denylist after this for one that ended
        before). Side effect: a channel listener, until `stop`."""
        await self._listening.enter_async_context(events.calling(self.channel, self._notice))

    async def stop(self) -> None:
        """End the watch (the socket's handler has ended). Side effect: stops listening."""
        await self._listening.aclose()
        if self._closing is not None:
            await self._closing

    def _notice(self, event: Event) -> None:
        if (
            event.get("type") == SESSION_ENDED_EVENT
            and event.get("session_id") == self.session_id
            and self._closing is None
        ):
            self._closing = asyncio.create_task(self._close(), name="session-ended")

    async def _close(self) -> None:
        with contextlib.suppress(RuntimeError):  # the socket closed meanwhile
            await self.websocket.close(SESSION_ENDED_CLOSE_CODE, "session ended")


async def watch_session(websocket: WebSocket, events: EventHub, viewer: Viewer) -> None:
    """Start a SessionWatch of the socket (see `start`), kept in the socket's state for
    `stop_watching`."""
    watch = websocket.state.session_watch = SessionWatch(websocket, viewer)
    await watch.start(events)


async def stop_watching(state: dict[str, object]) -> None:
    """Stop the SessionWatch of the socket whose ASGI scope state this is, if it has one."""
    watch = state.get("session_watch")
    if isinstance(watch, SessionWatch):
        await watch.stop()
