"""Observability of GraphQL operations: the Prometheus extension (latency per operation, errors
per code) and, when tracing is on, Strawberry's OpenTelemetry extension.

`observability_extensions()` is what schema.build puts first in the schema's extension list:
first means outermost, so the metrics see the errors as clients get them (after PresentErrors
has coded them)."""

from __future__ import annotations

from collections.abc import Iterator
from time import perf_counter
from typing import Any

from graphql import GraphQLError
from prometheus_client import Histogram
from strawberry.extensions import SchemaExtension

from metrics import GRAPHQL_DURATION, GRAPHQL_ERRORS, operation_label
from tracing import tracing_extensions

__all__ = ["OperationMetrics", "observability_extensions"]

_histograms: dict[tuple[str, str], Histogram] = {}
"""Labelled children by (type, name), bounded like the names: `labels()` costs ~1.5 µs."""


def observability_extensions() -> list[Any]:
    """The extensions schema.build adds: OperationMetrics, plus the OpenTelemetry one when
    tracing was turned on (tracing.configure_tracing) before the schema is built."""
    return [OperationMetrics, *tracing_extensions()]


class OperationMetrics(SchemaExtension):
    """Times each query and mutation into `shutter_graphql_operation_duration_seconds`
    (labels: operation type and bounded operation name) and counts the errors of its result
    into `shutter_graphql_errors_total` by `extensions.code`.

    Subscriptions are not timed (their operation lasts as long as the socket); their errors are
    counted. Side effects: those two metrics only.
    """

    def on_operation(self) -> Iterator[None]:
        started = perf_counter()
        try:
            yield
        except Exception as error:  # raised before execution: a document that does not parse
            self._record(perf_counter() - started, [_as_graphql_error(error)])
            raise
        result = self.execution_context.result
        self._record(perf_counter() - started, result.errors if result is not None else None)

    def _record(self, elapsed: float, errors: list[GraphQLError] | None) -> None:
        context = self.execution_context
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


def _as_graphql_error(error: Exception) -> GraphQLError:
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
