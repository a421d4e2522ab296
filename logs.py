"""Process-wide logging: the id of the request (or job) being served, and one renderer for every
log line of the process.

`configure_logging(settings)` routes the standard library's `logging` (our modules, uvicorn,
arq, asyncpg...) through structlog's ProcessorFormatter: JSON lines in production, readable
lines on a terminal. Every line carries `timestamp`, `level`, `logger`, `event`, and the
`request_id` (HTTP request or websocket) or `job_id`/`job` (arq job) of the task that logged it.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import orjson
import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

if TYPE_CHECKING:
    from settings import Settings

ACCESS_FIELDS = ("method", "path", "status", "duration_ms")
"""`extra=` fields rendered as fields of their own (resolvers.connections' access log)."""

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_job: ContextVar[tuple[str, str | None] | None] = ContextVar("job", default=None)


def current_request_id() -> str | None:
    """The id of the HTTP request, websocket or job this task serves, if any."""
    return _request_id.get()


def set_request_id(request_id: str | None) -> None:
    """Bind `request_id` to the current task (and tasks it starts from now on)."""
    _request_id.set(request_id)


def bind_job(job_id: str, name: str | None) -> None:
    """Bind an arq job's id and function name to the current task (and the tasks it starts):
    every line logged there carries `job_id` and `job` (when known)."""
    _job.set((job_id, name))


def _add_context(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    request_id = _request_id.get()
    if request_id is not None:
        event_dict.setdefault("request_id", request_id)
    job = _job.get()
    if job is not None:
        event_dict.setdefault("job_id", job[0])
        if job[1] is not None:
            event_dict.setdefault("job", job[1])
    return event_dict


def _dumps(value: Any, **_: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def _renderer(settings: Settings) -> list[Processor]:
    if settings.log_format == "json" or (settings.log_format == "auto" and not sys.stderr.isatty()):
        return [
            structlog.processors.dict_tracebacks,
            structlog.processors.JSONRenderer(serializer=_dumps),
        ]
    return [structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())]


def configure_logging(settings: Settings) -> None:
    """Configure logging for the whole process from LOG_FORMAT and LOG_LEVEL.

    Side effects: replaces the root logger's handlers with one stderr handler whose formatter
    renders every record (standard library or structlog) the same way; sets the root level;
    stops the standard library gathering what no line renders (caller, thread, process);
    configures structlog to hand its events to the standard library. Idempotent.
    """
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        _add_context,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    formatter = structlog.stdlib.ProcessorFormatter(
        # Fields passed as `extra=` by our standard-library calls (the access log's).
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder(allow=ACCESS_FIELDS)],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *_renderer(settings),
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    # What no rendered line shows is not gathered for each record (the logging HOWTO's
    # "Optimization" table): the caller's frame, thread and process. Every HTTP request logs.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    # libvips reports every operation at INFO through pyvips: noise, in the API and workers alike.
    logging.getLogger("pyvips").setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
