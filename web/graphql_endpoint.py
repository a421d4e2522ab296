"""The GraphQL endpoint (HTTP GET/POST and graphql-transport-ws websockets) on Strawberry's ASGI
view: authentication into the Context, orjson encoding, offline GraphiQL, and the GraphQL over
HTTP rules (docs/graphql-over-http.md):

- the response media type follows `Accept`: `application/graphql-response+json` when the
  client prefers it, else `application/json` (also for `*/*` and no Accept at all);
- a request that fails before execution (parse, validation, variables, cost) has no `data`;
  it is answered 400 under graphql-response+json and 200 under application/json, as the spec
  says; THROTTLED is 429 with Retry-After under both; a mutation over GET is 405;
- Redis or PostgreSQL not answering before execution (the budget, persisted queries) is
  SERVICE_UNAVAILABLE with the request id, HTTP 503 under both media types
  (execution.operation_scope logs it; a field failing so keeps its partial `data` and a 200);
- automatic persisted queries (web.persisted_queries), and `Cache-Control: public` only for
  anonymous, error-free GET queries (`private, no-store` otherwise; `Vary: Accept, Authorization`);
- websockets: messages of the wrong shape closed with 4400 (web.transport_ws),
  `connection_init` timeout (4408), at most N operations per socket, and browser origins
  limited to the same origin and `allowed_origins` (HTTP 403 before accepting).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError, OperationType, get_operation_ast, parse
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.schema import BaseSchema
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UnsetType

from execution.admission import THROTTLED
from execution.operation_scope import SERVICE_UNAVAILABLE, SERVICE_UNAVAILABLE_MESSAGE, log_outage
from resolvers.context import Context
from resources import Resources
from services.auth import check_session, claimed_viewer
from services.tokens import InvalidTokenError
from settings import Settings
from storage.outages import unavailable_service
from storage.persisted_queries import store_persisted_query
from web.graphiql import graphiql_html
from web.persisted_queries import (
    PERSISTED_QUERY_NOT_FOUND,
    PERSISTED_QUERY_NOT_FOUND_MESSAGE,
    PersistedQueryNotFoundError,
    resolve_persisted_query,
)
from web.session_watch import stop_watching, watch_session
from web.transport_ws import CheckedTransportWSHandler

log = logging.getLogger("shutter.http")

SUBSCRIPTION_OVER_HTTP = "SUBSCRIPTION_OVER_HTTP"
SUBSCRIPTION_OVER_HTTP_MESSAGE = (
    "Subscriptions are served over WebSocket at /graphql (graphql-transport-ws protocol, the "
    'token in connection_init: {"authorization": "Bearer <token>"}), not over HTTP.'
)
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
PRIVATE = "private, no-store"


def response_media_type(accept: str | None) -> str:
    """The media type to answer with: graphql-response+json when the client ranks it highest
    (ties go to it when named explicitly), else application/json (for `*/*`, a missing or
    empty Accept, and anything we cannot serve: lenient rather than 406)."""
    best, best_rank = JSON, (-1.0, 0)
    for part in (accept or "").split(","):
        media_range, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media_range = media_range.lower()
        if quality <= 0:
            continue
        if media_range == GRAPHQL_RESPONSE_JSON:
            rank, media_type = (quality, 2), GRAPHQL_RESPONSE_JSON
        elif media_range == JSON:
            rank, media_type = (quality, 1), JSON
        elif media_range in ("*/*", "application/*"):
            rank, media_type = (quality, 0), JSON
        else:
            continue
        if rank > best_rank:
            best, best_rank = media_type, rank
    return best


def error_response(
    status_code: int,
    message: str,
    code: str = "BAD_REQUEST",
    *,
    media_type: str = JSON,
    headers: Mapping[str, str] | None = None,
    request_id: str | None = None,
) -> Response:
    """A GraphQL-shaped JSON error for requests that never reached execution (never cached)."""
    extensions: dict[str, str] = {"code": code}
    if request_id is not None:
        extensions["requestId"] = request_id
    body = orjson.dumps({"errors": [{"message": message, "extensions": extensions}]})
    response = Response(body, status_code=status_code, media_type=media_type, headers=headers)
    response.headers["cache-control"] = PRIVATE
    return response


class SubscriptionOverHTTPError(Exception):
    """A subscription sent over HTTP: answered 400 with SUBSCRIPTION_OVER_HTTP."""


def is_subscription(request_data: GraphQLRequestData, max_tokens: int) -> bool:
    """Whether the operation the request names is a subscription. A document that does not
    parse (or names no single operation) is not: execution reports that as usual. No I/O."""
    if not isinstance(request_data.query, str) or "subscription" not in request_data.query:
        return False  # no second parse for the requests that cannot hold one
    try:
        document = parse(
            request_data.query,
            no_location=True,
            max_lexical_tokens=max_tokens,
            max_comments=max_tokens,
        )
    except GraphQLError:
        return False
    operation = get_operation_ast(document, request_data.operation_name)
    return operation is not None and operation.operation is OperationType.SUBSCRIPTION


class Exchange(Response):
    """Strawberry's "sub-response" of one HTTP request, carrying what the final response
    depends on: the negotiated media type, and whether it may be cached publicly."""

    def __init__(self, request: Request) -> None:
        super().__init__()
        self.status_code = None  # type: ignore[assignment]
        del self.headers["content-length"]
        self.media_type = response_media_type(request.headers.get("accept"))
        self.public = request.method == "GET" and "authorization" not in request.headers


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
    graphql_transport_ws_handler_class = CheckedTransportWSHandler

    def __init__(self, schema: BaseSchema, *, settings: Settings) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
            # uvicorn already pings every socket at the WebSocket protocol level (cheap control
            # frames); graphql-transport-ws pings on top cost a JSON message per socket, and
            # sockets opened together ping together: 1,000 of them stalled the loop ~100 ms.
            keep_alive=False,
            connection_init_wait_timeout=timedelta(seconds=settings.websocket_init_timeout_seconds),
            max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
            allowed_origins=settings.allowed_origins,
        )
        self.persisted_query_ttl_seconds = settings.persisted_query_ttl_seconds
        self.query_max_tokens = settings.query_max_tokens
        self.public_cache_control = f"public, max-age={settings.public_cache_max_age_seconds}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # a websocket
            try:
                await super().__call__(scope, receive, send)
            finally:
                await stop_watching(scope.get("state", {}))
            return
        request = Request(scope=scope, receive=receive)
        try:
            response = await self.run(request)
        except HTTPException as error:
            headers = {"allow": "POST"} if error.status_code == 405 else None
            response = error_response(
                error.status_code,
                error.reason,
                media_type=response_media_type(request.headers.get("accept")),
                headers=headers,
            )
        except SubscriptionOverHTTPError:
            response = error_response(
                400,
                SUBSCRIPTION_OVER_HTTP_MESSAGE,
                SUBSCRIPTION_OVER_HTTP,
                media_type=response_media_type(request.headers.get("accept")),
            )
        except PersistedQueryNotFoundError:
            # As Apollo Server: 200, so that every APQ client retries with the document.
            response = error_response(
                200,
                PERSISTED_QUERY_NOT_FOUND_MESSAGE,
                PERSISTED_QUERY_NOT_FOUND,
                media_type=response_media_type(request.headers.get("accept")),
            )
        except Exception as error:
            # Outside the operation (persisted queries' Redis calls): an outage is a 503 like
            # one met inside it; anything else stays a bug for uvicorn to log and answer 500.
            service = unavailable_service(error)
            if service is None:
                raise
            response = error_response(
                503,
                SERVICE_UNAVAILABLE_MESSAGE,
                SERVICE_UNAVAILABLE,
                media_type=response_media_type(request.headers.get("accept")),
                request_id=log_outage(service, error, "the HTTP request"),
            )
        response.headers.append("vary", "Accept, Authorization")
        await response(scope, receive, send)

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        assert isinstance(request, Request)
        return Exchange(request)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        resources: Resources = request.app.state.resources
        client_ip = request.client.host if request.client else None
        user_agent = request.headers.get("user-agent")
        if isinstance(request, Request):
            context = Context(resources=resources, client_ip=client_ip, user_agent=user_agent)
            _read_credential(context, request.headers.get("authorization"))
            return context
        return Context(
            resources=resources, client_ip=client_ip, user_agent=user_agent, websocket=request
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate a websocket from its `connection_init` payload: `{"authorization":
        "Bearer <token>"}`. Sockets carry live, per-user events: a missing or bad token closes
        the socket with 4403 (graphql-transport-ws "Forbidden"), and so does the end of the
        session later (web.session_watch)."""
        params = context.connection_params or {}
        authorization = params.get("authorization", params.get("Authorization"))
        if not isinstance(authorization, str):
            raise ConnectionRejectionError({"message": "send {authorization: 'Bearer <token>'}"})
        _read_credential(context, authorization)
        if context.viewer is not None:
            # Watching first, then checking the denylist: a session ending at any moment
            # either is in the denylist already or is announced to the watch.
            assert context.websocket is not None
            await watch_session(context.websocket, context.resources.events, context.viewer)
            await _check_session(context)
        if context.viewer is None:
            raise ConnectionRejectionError({"message": context.auth_error or "not signed in"})
        return await super().on_ws_connect(context)

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        """GraphiQL for browsers opening /graphql, not for persisted-query GETs (no `query`)."""
        return super().should_render_graphql_ide(request) and "extensions" not in (
            request.query_params
        )

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(graphiql_html())

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        data = await super().parse_http_body(request)
        if isinstance(data, GraphQLRequestData) and not isinstance(
            data.operation_name, (str, type(None))
        ):
            raise HTTPException(
                400, "The GraphQL operation's `operationName` must be a string or null."
            )
        return data

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Persisted queries around Strawberry's execution; a mutation over GET is a 405; a
        subscription is refused (SubscriptionOverHTTPError): they are served over WebSocket."""
        redis = context.resources.redis
        registration = await resolve_persisted_query(redis, request_data)
        if is_subscription(request_data, self.query_max_tokens):
            raise SubscriptionOverHTTPError
        try:
            result = await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        except HTTPException as error:
            if request_adapter.method == "GET" and isinstance(
                error.__cause__, InvalidOperationTypeError
            ):
                raise HTTPException(405, error.reason) from error
            raise
        if registration is not None and result.data is not None:
            await store_persisted_query(
                redis,
                registration.sha256_hex,
                registration.text,
                ttl_seconds=self.persisted_query_ttl_seconds,
            )
        return result

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """A document that fails before execution (parse, validation, variables, cost) has no
        `data` entry (GraphQL spec, "Response Format")."""
        response = await super().process_result(request, result)
        if result.data is None and result.errors and all(e.path is None for e in result.errors):
            response.pop("data", None)
        return response

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        assert isinstance(sub_response, Exchange)
        errors = response_data.get("errors") if isinstance(response_data, dict) else None
        public = sub_response.public and not errors
        if public and isinstance(response_data, dict):
            response_data = _without_client_budget(response_data)
        response = Response(
            self.encode_json(response_data),
            status_code=200,
            media_type=sub_response.media_type,
            headers=dict(sub_response.headers),
        )
        if isinstance(response_data, dict) and "data" not in response_data:
            code = _first_extension(errors, "code")
            if code == THROTTLED:
                response.status_code = 429
                retry_after = _first_extension(errors, "retryAfterSeconds")
                if isinstance(retry_after, int):
                    response.headers["retry-after"] = str(retry_after)
            elif code == SERVICE_UNAVAILABLE:
                response.status_code = 503
            elif sub_response.media_type == GRAPHQL_RESPONSE_JSON:
                response.status_code = 400
        response.headers["cache-control"] = self.public_cache_control if public else PRIVATE
        return response

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)

    def parse_json(self, data: str | bytes) -> Any:
        """A GraphQL request body is a JSON object (or a list, for batches): anything else is
        a 400, not something for Strawberry to call `.get` on."""
        parsed = super().parse_json(data)
        if not isinstance(parsed, dict | list):
            raise HTTPException(400, "The request body must be a JSON object.")
        return parsed


def _without_client_budget(response_data: GraphQLHTTPResponse) -> GraphQLHTTPResponse:
    """The response without `extensions.cost.throttleStatus`: a shared cache hands a public
    response to every client, and what is left of one client's budget is none of the others'
    business (nor true for them)."""
    extensions = response_data.get("extensions")
    cost = extensions.get("cost") if isinstance(extensions, dict) else None
    if not isinstance(cost, dict) or "throttleStatus" not in cost:
        return response_data
    shared_cost = {name: value for name, value in cost.items() if name != "throttleStatus"}
    return {**response_data, "extensions": {**extensions, "cost": shared_cost}}  # type: ignore[dict-item]


def _first_extension(errors: object, name: str) -> object:
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        extensions = errors[0].get("extensions")
        if isinstance(extensions, dict):
            return extensions.get(name)
    return None


def _read_credential(context: Context, authorization: str | None) -> None:
    """Set the context's viewer from the credential, its session to be checked before
    execution (with the query budget: one Redis call for both), or record why it was refused.
    No I/O."""
    try:
        context.viewer = claimed_viewer(context.resources.access_tokens, authorization)
    except InvalidTokenError as error:
        context.auth_error = str(error)
    context.session_unchecked = context.viewer is not None


async def _check_session(context: Context) -> None:
    """Check the session of the context's claimed viewer against the revocation denylist: the
    viewer is then trusted, or refused with the reason. Side effects: one Redis read."""
    assert context.viewer is not None
    try:
        await check_session(context.resources.redis, context.viewer)
    except InvalidTokenError as error:
        context.refuse_viewer(str(error))
    else:
        context.session_unchecked = False
