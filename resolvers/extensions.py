"""Schema extensions that belong to the transport: fresh loaders per operation, and how errors
are presented to clients (codes in `extensions.code`, unexpected errors masked and logged)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from logs import current_request_id
from resolvers.context import Context
from services.pagination import InvalidArgumentError

log = logging.getLogger("shutter.graphql")

INTERNAL_ERROR_MESSAGE = "Internal server error."


class FreshLoaders(SchemaExtension):
    """Give every operation its own DataLoaders (a websocket reuses one context for all)."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        if isinstance(context, Context):
            context.start_operation()
        yield


class PresentErrors(SchemaExtension):
    """Tag known errors with a code; replace anything unexpected by a generic message.

    No stack trace or exception text of an unexpected error ever reaches a client: it is logged
    here with the operation name and request id, and the client sees INTERNAL_SERVER_ERROR with
    that request id (`extensions.requestId`) to quote.
    """

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        result.errors = [self._present(error) for error in result.errors]

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
