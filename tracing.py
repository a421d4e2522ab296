"""Optional OpenTelemetry tracing of HTTP requests and websockets (ASGI), GraphQL operations
(Strawberry's extension), SQL (asyncpg) and Redis, exported over OTLP/HTTP.

On when TRACING_ENABLED is true or OTEL_EXPORTER_OTLP_ENDPOINT is set; needs the `otel` extra
(`pip install -e '.[otel]'`). Off, this module imports nothing from OpenTelemetry and changes
nothing. The exporter and the SDK read the standard OTEL_* variables (endpoint, headers,
OTEL_SERVICE_NAME, sampling); the service name defaults to "shutter".
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any

from starlette.middleware import Middleware

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

    from settings import Settings

_state: dict[str, Any] = {}


def configure_tracing(settings: Settings, *, exporter: SpanExporter | None = None) -> bool:
    """Turn tracing on for this process if the settings ask for it (or an `exporter` is given,
    which then receives every span synchronously: tests). Returns whether tracing is on.

    Side effects when on: sets the global tracer provider (spans exported in batches over
    OTLP/HTTP, flushed at exit); patches asyncpg and redis-py to trace every query and
    command; schemas built from now on carry Strawberry's OpenTelemetryExtension; create_app
    wraps the application in the ASGI middleware (`tracing_middleware`). Call it once, before
    create_app and before resources are opened.
    """
    if "provider" in _state:
        return True
    if exporter is None and not settings.tracing_active:
        return False
    from opentelemetry import trace
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    service = {"service.name": os.environ.get("OTEL_SERVICE_NAME", "shutter")}
    provider = TracerProvider(resource=Resource.create(service))
    processor: SpanProcessor
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        processor = BatchSpanProcessor(OTLPSpanExporter())
    else:
        processor = SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    AsyncPGInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
    RedisInstrumentor().instrument(tracer_provider=provider)
    _state["provider"] = provider
    return True


def tracing_extensions() -> list[Any]:
    """Strawberry's OpenTelemetry schema extension when tracing is on (schema.build adds it,
    outermost), else nothing."""
    if "provider" not in _state:
        return []
    from strawberry.extensions.tracing import OpenTelemetryExtension

    # Resolver arguments carry passwords and tokens: never recorded.
    return [functools.partial(OpenTelemetryExtension, arg_filter=_no_arguments)]


def _no_arguments(arguments: dict[str, Any], info: Any) -> dict[str, Any]:
    return {}


def tracing_middleware() -> list[Middleware]:
    """The ASGI tracing middleware when tracing is on (one span per HTTP request or websocket,
    continuing an incoming `traceparent`), else nothing."""
    if "provider" not in _state:
        return []
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    # Per-message spans of long-lived websockets would be noise: one span per connection.
    return [
        Middleware(
            OpenTelemetryMiddleware,
            tracer_provider=_state["provider"],
            exclude_spans=["receive", "send"],
        )
    ]
