"""The per-request GraphQL context: resources, the viewer, and fresh DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError
from starlette.websockets import WebSocket

from dataloaders import Loaders, build_loaders
from resources import Resources
from services.auth import Viewer
from storage.pg import Db

UNAUTHENTICATED = "UNAUTHENTICATED"


@dataclass
class Context:
    """What every resolver of one operation sees.

    Over HTTP one Context serves one request; over a websocket one Context serves the whole
    socket, so `start_operation()` (called for every operation by the OperationScope extension)
    replaces the loaders and no cached row outlives its operation.
    """

    resources: Resources
    client_ip: str | None = None
    """The client's address: the TCP peer, or what `X-Forwarded-For` says when the peer is a
    trusted proxy (uvicorn's `forwarded_allow_ips`); None when unknown. Log-in and sign-up
    limits and the anonymous points budget count by it."""
    user_agent: str | None = None
    """The request's `User-Agent` header (the socket's handshake's on websockets): sign-in
    mutations name the session's device from it (services.session_clients), nothing else
    reads it."""
    viewer: Viewer | None = None
    auth_error: str | None = None
    """Why the presented credentials were refused (None when none or valid ones were sent)."""
    session_unchecked: bool = False
    """`viewer` is what the access token claims, its session not yet checked against the
    revocation denylist: an HTTP request checks it in the Redis call that pays for its query,
    before execution (execution.admission), and `require_viewer` refuses to hand out an
    unchecked viewer."""
    connection_params: dict[str, Any] | None = None
    """The graphql-transport-ws `connection_init` payload, set by Strawberry on websockets."""
    websocket: WebSocket | None = None
    """The socket this context serves, on websockets (closed when its session ends)."""
    _loaders: Loaders | None = field(default=None, repr=False)

    @property
    def db(self) -> Db:
        return self.resources.db

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            self.start_operation()
        assert self._loaders is not None
        return self._loaders

    def start_operation(self) -> None:
        resources = self.resources
        self._loaders = build_loaders(
            resources.db, self.viewer_id, resources.redis, resources.ranker
        )

    @property
    def viewer_id(self) -> int | None:
        return self.viewer.user_id if self.viewer else None

    def require_viewer(self) -> Viewer:
        """The signed-in viewer; raises a GraphQL error with code UNAUTHENTICATED otherwise."""
        if self.viewer is None:
            raise unauthenticated_error(self.auth_error)
        if self.session_unchecked:
            raise RuntimeError("the viewer's session was not checked before execution")
        return self.viewer

    def refuse_viewer(self, reason: str) -> None:
        """The request goes on anonymously: its credential was refused for `reason` after it
        was read. Side effect: fresh loaders, so none built for the refused viewer is used."""
        self.viewer = None
        self.auth_error = reason
        self.session_unchecked = False
        if self._loaders is not None:
            self.start_operation()


def unauthenticated_error(reason: str | None) -> GraphQLError:
    message = (
        f"Not signed in: {reason}."
        if reason
        else "Not signed in: send the header `Authorization: Bearer <accessToken>`."
    )
    return GraphQLError(message, extensions={"code": UNAUTHENTICATED})
