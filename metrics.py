"""Prometheus metrics of the process (prometheus-client's default registry), cross-cutting like
logging: the transport, the services and the workers all record into the objects defined here.

Importing this module only creates the metric objects (no I/O, no server). Exposition is the
transport's business: web.metrics_route serves `/metrics` in the API, and
`serve_worker_metrics` serves a worker's on its own port.

Label values are bounded: operation names are validated and capped (`operation_label`), job
names are the registered functions, error codes are ours.
"""

from __future__ import annotations

import re
import threading

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    start_http_server,
)

__all__ = [
    "FAN_OUT_LAG",
    "FEED_CACHE_HIT",
    "FEED_CACHE_MISS",
    "FEED_CACHE_REBUILD",
    "GRAPHQL_DURATION",
    "GRAPHQL_ERRORS",
    "JOB_DURATION",
    "JOB_FAILURES",
    "JOB_OUTCOMES",
    "OPEN_WEBSOCKETS",
    "QUEUE_DEPTH",
    "RANKER_ENGAGED_IMPRESSIONS",
    "RANKER_IMPRESSIONS",
    "REGISTRY",
    "SCRAPE_TIME_REGISTRY",
    "operation_label",
    "serve_worker_metrics",
]

# Request latencies: a fast API answers in milliseconds; the tail matters up to seconds.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Jobs: a fan-out batch takes milliseconds, a video seconds to minutes.
_JOB_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
# Fan-out lag: from publish to the followers' feeds; queueing makes it seconds under load.
_LAG_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)

GRAPHQL_DURATION = Histogram(
    "shutter_graphql_operation_duration_seconds",
    "Time to parse, validate and execute a GraphQL query or mutation, by operation.",
    ["operation_type", "operation_name"],
    buckets=_LATENCY_BUCKETS,
)
GRAPHQL_ERRORS = Counter(
    "shutter_graphql_errors_total",
    "GraphQL errors returned to clients, by extensions.code.",
    ["code"],
)
OPEN_WEBSOCKETS = Gauge("shutter_open_websockets", "Accepted websockets currently open.")

JOB_DURATION = Histogram(
    "shutter_job_duration_seconds",
    "Run time of arq jobs, by job function (any outcome).",
    ["job"],
    buckets=_JOB_BUCKETS,
)
JOB_FAILURES = Counter(
    "shutter_job_failures_total",
    "arq jobs that raised an unexpected error (retries and cancellations not included).",
    ["job"],
)
JOB_OUTCOMES = Counter(
    "shutter_jobs_total",
    "arq jobs run, by job function and outcome (success, failure, retry, cancelled).",
    ["job", "outcome"],
)

_FEED_CACHE = Counter(
    "shutter_feed_cache_total",
    "Home-feed reads by cache result: hit (a live cached feed answered), miss (missing or being "
    "rebuilt: PostgreSQL answered), rebuild (a feed was installed from PostgreSQL).",
    ["result"],
)
FEED_CACHE_HIT = _FEED_CACHE.labels("hit")
FEED_CACHE_MISS = _FEED_CACHE.labels("miss")
FEED_CACHE_REBUILD = _FEED_CACHE.labels("rebuild")

FAN_OUT_LAG = Histogram(
    "shutter_fan_out_lag_seconds",
    "Seconds from a post's publication to the completion of a fan-out batch carrying it.",
    buckets=_LAG_BUCKETS,
)

RANKER_IMPRESSIONS = Counter(
    "shutter_ranker_impressions_total",
    "Feed impressions reported by clients (recordImpressions, new ones only), by the ranker "
    "experiment arm of the RANKED page that served the post: formula, model, or unranked (no "
    "RANKED page served it lately).",
    ["arm"],
)
RANKER_ENGAGED_IMPRESSIONS = Counter(
    "shutter_ranker_engaged_impressions_total",
    "Reported impressions that became engaged (on screen at least 3 s, or the author's profile "
    "opened from it), by arm as shutter_ranker_impressions_total; the engagement rate of an arm "
    "is the ratio of the two. Likes and comments are joined offline (shutter ranker report).",
    ["arm"],
)

SCRAPE_TIME_REGISTRY = CollectorRegistry(auto_describe=True)
"""Values read at scrape time by the API's /metrics handler (they need async I/O)."""
QUEUE_DEPTH = Gauge(
    "shutter_job_queue_depth",
    "Jobs waiting in the arq queue (ZCARD), read when /metrics is scraped.",
    registry=SCRAPE_TIME_REGISTRY,
)

MAX_OPERATION_NAMES = 200
"""Distinct operation names labelled; later new names count as "other"."""
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")
_seen_names: set[str] = set()
_seen_lock = threading.Lock()


def operation_label(name: str | None) -> str:
    """The label for a client's operation name: "anonymous" when missing or not a valid
    GraphQL name of at most 64 characters; "other" once MAX_OPERATION_NAMES distinct names
    were seen (clients choose names: the label set must stay bounded). Side effect: remembers
    the name."""
    if not name or not _NAME.fullmatch(name):
        return "anonymous"
    if name in _seen_names:
        return name
    with _seen_lock:
        if len(_seen_names) >= MAX_OPERATION_NAMES:
            return "other"
        _seen_names.add(name)
    return name


def serve_worker_metrics(port: int, host: str) -> None:
    """Serve the default registry over HTTP on `host:port` from a daemon thread
    (prometheus-client's own server). Side effect: a listening socket until the process ends."""
    start_http_server(port, addr=host)
