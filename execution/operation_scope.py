"""The schema extension around every operation: fresh loaders, how errors are presented to
clients (codes in `extensions.code`, unexpected errors masked and logged, outages of Redis or
PostgreSQL answered SERVICE_UNAVAILABLE), and the operation's metrics. One extension with one
hook: Strawberry wraps each extension hook anew for every request, and three separate ones cost
a request more than the work they do."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from time import perf_counter

from graphql import GraphQLError
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import SchemaExtension

from execution.operation_metrics import as_graphql_error, record_operation
from execution.private_api import CannotGetOperationTypeError, InvalidOperationTypeError
from logs import current_request_id
from resolvers.context import Context
from services.pagination import InvalidArgumentError
from storage.outages import Service, unavailable_service

log = logging.getLogger("shutter.graphql")

INTERNAL_ERROR_MESSAGE = "Internal server error."
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
SERVICE_UNAVAILABLE_MESSAGE = "The service is temporarily unavailable; try again shortly."

_PASSED_THROUGH = (
    GraphQLError,
    MissingQueryError,
    CannotGetOperationTypeError,
    InvalidOperationTypeError,
)
"""Raised out of an operation on purpose: GraphQL errors carry their own extensions, and
Strawberry's HTTP view turns its own into 400/405."""


def log_outage(service: Service, error: BaseException, where: object) -> str | None:
    """Log, as an error, that `service` did not answer while serving `where` (an operation
    name, a field path, a step); returns the request id, which the client is given.

    Side effect: one log line naming the service, the request id and the driver's error class
    and message (it names the server's address, which clients are never shown), without a
    traceback: an outage is not a bug, and tracebacks may carry values."""
    request_id = current_request_id()
    log.error(
        "%s unavailable at %s (request %s): %s: %s",
        service,
        where,
        request_id,
        type(error).__name__,
        error,
    )
    return request_id


class OperationScope(SchemaExtension):
    """Around every operation:

    - fresh DataLoaders (a websocket reuses one context for all its operations);
    - errors presented to clients: known ones tagged with a code, anything unexpected replaced
      by a generic message. No stack trace or exception text of an unexpected error ever
      reaches a client: it is logged here with the operation name and request id, and the
      client sees INTERNAL_SERVER_ERROR with that request id (`extensions.requestId`). Redis
      or PostgreSQL not answering (storage.outages) is SERVICE_UNAVAILABLE with the request
      id, logged once per operation (HTTP 503 when the operation could not run at all:
      web.graphql_endpoint). This holds for errors of fields and for those raised before
      execution (the budget's Redis call, execution.admission) alike;
    - then the metrics (execution.operation_metrics), of the errors as clients get them.
    """

    _outage_logged = False
    """Whether this operation logged an outage already (one extension object per operation)."""

    def on_operation(self) -> Iterator[None]:
        execution = self.execution_context
        if isinstance(execution.context, Context):
            execution.context.start_operation()
        started = perf_counter()
        try:
            yield
        except Exception as error:  # raised before execution: parsing, validation, budget
            presented = self._present_raised(error)
            record_operation(execution, perf_counter() - started, [as_graphql_error(presented)])
            if presented is error:
                raise
            raise presented from None
        result = execution.result
        if result is not None and result.errors:
            result.errors = [self._present(error) for error in result.errors]
        record_operation(
            execution, perf_counter() - started, result.errors if result is not None else None
        )

    def _present_raised(self, error: Exception) -> Exception:
        """An error raised out of the operation before execution, as the client gets it: the
        same error when it is a GraphQL error or one of Strawberry's refusals, else a masked
        GraphQLError (SERVICE_UNAVAILABLE or INTERNAL_SERVER_ERROR; logged)."""
        if isinstance(error, _PASSED_THROUGH):
            return error
        return self._present(GraphQLError(str(error), original_error=error))

    def _present(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if original is None or isinstance(original, GraphQLError):
            return error  # syntax, validation, or an error we raised with its extensions
        if isinstance(original, InvalidArgumentError):
            return _with_code(error, original.message, "BAD_USER_INPUT")
        service = unavailable_service(original)
        if service is not None:
            return self._present_outage(error, service, original)
        request_id = current_request_id()
        log.error(
            "unexpected error in operation %s at %s (request %s)",
            self.execution_context.operation_name,
            error.path,
            request_id,
            exc_info=original,
        )
        return _with_code(
            error, INTERNAL_ERROR_MESSAGE, "INTERNAL_SERVER_ERROR", requestId=request_id
        )

    def _present_outage(
        self, error: GraphQLError, service: Service, original: Exception
    ) -> GraphQLError:
        """SERVICE_UNAVAILABLE with the request id; logged for the operation's first such error
        only (one outage fails many fields)."""
        request_id = current_request_id()
        if not self._outage_logged:
            self._outage_logged = True
            where = self.execution_context.operation_name or "an anonymous operation"
            log_outage(service, original, f"{where}, {error.path or 'before execution'}")
        return _with_code(
            error, SERVICE_UNAVAILABLE_MESSAGE, SERVICE_UNAVAILABLE, requestId=request_id
        )


def _with_code(error: GraphQLError, message: str, code: str, **more: object) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={"code": code, **{k: v for k, v in more.items() if v is not None}},
    )
