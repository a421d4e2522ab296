"""Prometheus metrics of GraphQL operations: latency per operation, errors per code. Recorded by
execution.operation_scope.OperationScope once an operation's errors are what clients get."""

from __future__ import annotations

from graphql import GraphQLError
from prometheus_client import Histogram
from strawberry.types import ExecutionContext

from metrics import GRAPHQL_DURATION, GRAPHQL_ERRORS, operation_label

__all__ = ["as_graphql_error", "error_code", "record_operation"]

_histograms: dict[tuple[str, str], Histogram] = {}
"""Labelled children by (type, name), bounded like the names: `labels()` costs ~1.5 µs."""


def record_operation(
    context: ExecutionContext, elapsed: float, errors: list[GraphQLError] | None
) -> None:
    """Time a query or mutation into `shutter_graphql_operation_duration_seconds` (labels:
    operation type and bounded operation name) and count its errors into
    `shutter_graphql_errors_total` by `extensions.code`. Subscriptions are not timed (their
    operation lasts as long as the socket); their errors are counted. Side effects: those two
    metrics only."""
    try:
        operation_type = context.operation_type.value
    except RuntimeError:  # the document did not parse: no operation at all
        operation_type = "unknown"
    if operation_type != "subscription":
        key = (operation_type, operation_label(context.operation_name))
        histogram = _histograms.get(key)
        if histogram is None:
            histogram = _histograms[key] = GRAPHQL_DURATION.labels(*key)
        histogram.observe(elapsed)
    for error in errors or ():
        GRAPHQL_ERRORS.labels(error_code(error, parsed=operation_type != "unknown")).inc()


def as_graphql_error(error: Exception) -> GraphQLError:
    """An error raised out of an operation (before execution) as the error it reports."""
    if isinstance(error, GraphQLError):
        return error
    return GraphQLError(str(error), extensions={"code": "INTERNAL_SERVER_ERROR"})


def error_code(error: GraphQLError, *, parsed: bool) -> str:
    """The code a client sees in `extensions.code`; an uncoded error is a request error (the
    document did not parse, or did not validate) or, with a path, a field error that kept
    GraphQL's own message."""
    code = (error.extensions or {}).get("code")
    if isinstance(code, str) and code.isupper() and len(code) <= 64:
        return code
    if not parsed:
        return "GRAPHQL_PARSE_FAILED"
    return "GRAPHQL_VALIDATION_FAILED" if error.path is None else "FIELD_ERROR"
