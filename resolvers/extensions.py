"""The schema extension around every operation: fresh loaders, how errors are presented to
clients (codes in `extensions.code`, unexpected errors masked and logged), and the operation's
metrics. One extension with one hook: Strawberry wraps each extension hook anew for every
request, and three separate ones cost a request more than the work they do."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from time import perf_counter

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from logs import current_request_id
from resolvers.context import Context
from resolvers.operation_metrics import as_graphql_error, record_operation
from services.pagination import InvalidArgumentError

log = logging.getLogger("shutter.graphql")

INTERNAL_ERROR_MESSAGE = "Internal server error."


class OperationScope(SchemaExtension):
    """Around every operation:

    - fresh DataLoaders (a websocket reuses one context for all its operations);
    - errors presented to clients: known ones tagged with a code, anything unexpected replaced
      by a generic message. No stack trace or exception text of an unexpected error ever
      reaches a client: it is logged here with the operation name and request id, and the
      client sees INTERNAL_SERVER_ERROR with that request id (`extensions.requestId`);
    - then the metrics (resolvers.operation_metrics), of the errors as clients get them.
    """

    def on_operation(self) -> Iterator[None]:
        execution = self.execution_context
        if isinstance(execution.context, Context):
            execution.context.start_operation()
        started = perf_counter()
        try:
            yield
        except Exception as error:  # raised before execution: a document that does not parse
            record_operation(execution, perf_counter() - started, [as_graphql_error(error)])
            raise
        result = execution.result
        if result is not None and result.errors:
            result.errors = [self._present(error) for error in result.errors]
        record_operation(
            execution, perf_counter() - started, result.errors if result is not None else None
        )

    def _present(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if original is None or isinstance(original, GraphQLError):
            return error  # syntax, validation, or an error we raised with its extensions
        if isinstance(original, InvalidArgumentError):
            return _with_code(error, original.message, "BAD_USER_INPUT")
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


def _with_code(error: GraphQLError, message: str, code: str, **more: object) -> GraphQLError:
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={"code": code, **{k: v for k, v in more.items() if v is not None}},
    )
