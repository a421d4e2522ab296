"""Process-wide logging: the id of the request (or job) being served, and one renderer for every
log line of the process.

`configure_logging(settings)` routes the standard library's `logging` (our modules, uvicorn,
arq, asyncpg...) through structlog's ProcessorFormatter: JSON lines in production, readable
lines on a terminal. Every line carries `timestamp`, `level`, `logger`, `event`, and the
`request_id` (HTTP request or websocket) or `job_id`/`job` (arq job) of the task that logged it.

No line carries secrets: tracebacks are rendered without frame locals (a password or refresh
token is a local of the frames it passes through), and `redact_secrets` scrubs every rendered
value as a second line of defence (fields named like secrets, tokens, emails, and the values
asyncpg echoes in its argument errors).
"""

from __future__ import annotations

import functools
import logging
import re
import sys
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import orjson
import structlog
from structlog.tracebacks import ExceptionDictTransformer
from structlog.typing import EventDict, Processor, WrappedLogger

if TYPE_CHECKING:
    from settings import Settings

ACCESS_FIELDS = ("method", "path", "status", "duration_ms")
"""`extra=` fields rendered as fields of their own (web.connections' access log)."""

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


REDACTED = "[redacted]"
_SECRET_NAME = re.compile(
    r"pass(?:word|wd|phrase)?|secret|token|authori[sz]ation|cookie|api[_-]?key|credential"
    r"|otp|backup[_-]?code|e-?mail",
    re.IGNORECASE,
)
"""Field names whose values are never written to a log line."""
_SECRET_TEXT = re.compile(
    # a JWT (access tokens)
    r"eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*"
    # a refresh token: <session uuid>.<secret>
    r"|[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}\.[\w-]{8,}"
    # an Authorization header's credentials
    r"|(?i:bearer|basic)\s+\S+"
    # `password=...`, `"token": "..."` and the like inside a message or an exception
    r"|(?i:\b(?:password|passwd|secret|token|refresh_token|access_token|api_key)\b)"
    r"[\"']?\s*[=:]\s*[\"']?[^\s\"',;}&]+"
    # asyncpg echoes the value it could not encode: "invalid input for query argument $2: ..."
    r"|(?<=query argument \$)\d+: .*"
    # an email address
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
)
"""Secrets recognised by their shape inside any rendered text."""
_NEVER_SECRET = frozenset(
    {"timestamp", "level", "logger", "request_id", "job_id", "job", "status", "duration_ms"}
)
"""Fields that we fill ourselves with values that cannot hold a secret (skipped for speed)."""


def _scrub_text(text: str) -> str:
    # Every shape of _SECRET_TEXT contains one of these: text without any (an access line's
    # method and path, most messages) is not searched.
    if (
        "@" in text
        or "=" in text
        or ":" in text
        or "-" in text
        or "eyJ" in text
        or "earer" in text
        or "asic" in text
    ):
        return _SECRET_TEXT.sub(REDACTED, text)
    return text


@functools.lru_cache(maxsize=1024)
def _is_secret_name(name: str) -> bool:
    return _SECRET_NAME.search(name) is not None


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _scrub_text(value)
    if isinstance(value, dict):
        return {
            key: REDACTED
            if isinstance(key, str) and _is_secret_name(key) and item is not None
            else _scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    return value


def redact_secrets(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Replace what looks like a secret in a rendered line by `[redacted]`: the value of every
    field named like one (password, token, secret, authorization, email, ...), and inside every
    text (the message, an exception and its traceback) JWTs, refresh tokens, `Bearer`
    credentials, `password=...`-style pairs, asyncpg's echo of a refused argument and email
    addresses. Runs after exceptions are rendered, so tracebacks are scrubbed too."""
    for key, value in event_dict.items():
        if key in _NEVER_SECRET or value is None:
            continue
        if _is_secret_name(key):
            event_dict[key] = REDACTED
        elif isinstance(value, str | dict | list | tuple):
            event_dict[key] = _scrub(value)
    return event_dict


def _dumps(value: Any, **_: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def _renderer(settings: Settings) -> list[Processor]:
    """Exceptions rendered (never with frame locals: structlog's dict tracebacks and rich's
    console tracebacks show them by default), then scrubbed, then the line rendered."""
    if settings.log_format == "json" or (settings.log_format == "auto" and not sys.stderr.isatty()):
        return [
            structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False)),
            redact_secrets,
            structlog.processors.JSONRenderer(serializer=_dumps),
        ]
    return [
        structlog.processors.format_exc_info,
        redact_secrets,
        structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()),
    ]


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
