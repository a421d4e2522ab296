"""The GraphQL endpoint (HTTP GET/POST and graphql-transport-ws websockets) on Strawberry's ASGI
view: authentication into the Context, orjson encoding, JSON errors, offline GraphiQL."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.schema import BaseSchema
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UnsetType

from resolvers.context import Context
from resolvers.graphiql import graphiql_html
from resources import Resources
from services.auth import authenticate
from services.tokens import InvalidTokenError

log = logging.getLogger("shutter.http")


def error_response(status_code: int, message: str, code: str = "BAD_REQUEST") -> Response:
    """A GraphQL-shaped JSON error for requests that never reached execution."""
    body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})
    return Response(body, status_code=status_code, media_type="application/json")


class TextFrameWebSocketAdapter(ASGIWebSocketAdapter):
    """graphql-transport-ws messages are text frames; orjson gives bytes, which Strawberry would
    send as binary frames that protocol-strict clients refuse."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(orjson.dumps(message).decode())
        except WebSocketDisconnect as error:
            raise WebSocketDisconnected from error


class GraphQLEndpoint(GraphQL[Context, None]):
    """Strawberry's ASGI view, configured for Shutter."""

    websocket_adapter_class = TextFrameWebSocketAdapter

    def __init__(self, schema: BaseSchema, *, graphiql_enabled: bool) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if graphiql_enabled else None,
            subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
            # uvicorn already pings every socket at the WebSocket protocol level (cheap control
            # frames); graphql-transport-ws pings on top cost a JSON message per socket, and
            # sockets opened together ping together: 1,000 of them stalled the loop ~100 ms.
            keep_alive=False,
            connection_init_wait_timeout=timedelta(seconds=10),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope=scope, receive=receive))
        except HTTPException as error:
            response = error_response(error.status_code, error.reason)
        await response(scope, receive, send)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        resources: Resources = request.app.state.resources
        context = Context(resources=resources)
        if isinstance(request, Request):
            await _sign_in(context, request.headers.get("authorization"))
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate a websocket from its `connection_init` payload: `{"authorization":
        "Bearer <token>"}`. Sockets carry live, per-user events: a missing or bad token closes
        the socket with 4403 (graphql-transport-ws "Forbidden")."""
        params = context.connection_params or {}
        authorization = params.get("authorization", params.get("Authorization"))
        if not isinstance(authorization, str):
            raise ConnectionRejectionError({"message": "send {authorization: 'Bearer <token>'}"})
        await _sign_in(context, authorization)
        if context.viewer is None:
            raise ConnectionRejectionError({"message": context.auth_error or "not signed in"})
        return await super().on_ws_connect(context)

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(graphiql_html())

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """A document that fails to parse or validate never executes: answer without `data`,
        which `create_response` turns into 400 (GraphQL over HTTP: a request error)."""
        response = await super().process_result(request, result)
        if result.data is None and result.errors and all(e.path is None for e in result.errors):
            response.pop("data", None)
        return response

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        if isinstance(response_data, dict) and "data" not in response_data:
            response.status_code = 400
        return response

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)


async def _sign_in(context: Context, authorization: str | None) -> None:
    """Set the context's viewer from the credential, or record why it was refused."""
    try:
        context.viewer = await authenticate(
            context.resources.access_tokens, context.resources.redis, authorization
        )
    except InvalidTokenError as error:
        context.auth_error = str(error)
