"""Prometheus metrics, cross-cutting like logging: the transport, the services and the workers
all record into the objects defined here.

Two modes, chosen when this module is first imported (prometheus-client reads the environment
then, and so does this module):

- one process (`shutter serve` with WEB_CONCURRENCY=1, `shutter worker`, `shutter run` with one
  API process, the tests): values live in this process's memory, in prometheus-client's default
  registry, as before; no files.
- several processes (PROMETHEUS_MULTIPROC_DIR set: `shutter serve|run` with WEB_CONCURRENCY > 1
  export it to every process of the set, web.server_processes.shared_metrics_directory): every
  value is also written to a memory-mapped file of the process in that directory, and
  EXPOSITION_REGISTRY merges every process's files (prometheus-client's MultiProcessCollector),
  so whichever process answers a scrape reports the whole set. Gauges say how their values
  merge (`multiprocess_mode`). prometheus-client's process_* and python_* series are not
  served then: they describe one process and cannot be merged.

Importing this module only creates the metric objects (in the second mode also the directory's
files of this process; the directory must exist). Exposition is the transport's business:
web.metrics_route serves `/metrics` in the API, and `serve_worker_metrics` serves a worker's on
its own port.

Label values are bounded: operation names are validated and capped (`operation_label`), job
names are the registered functions, error codes are ours.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

__all__ = [
    "EXPOSITION_REGISTRY",
    "FAN_OUT_LAG",
    "FEED_CACHE_HIT",
    "FEED_CACHE_MISS",
    "FEED_CACHE_REBUILD",
    "GRAPHQL_DURATION",
    "GRAPHQL_ERRORS",
    "JOB_DURATION",
    "JOB_FAILURES",
    "JOB_OUTCOMES",
    "MULTIPROCESS_DIR",
    "OPEN_WEBSOCKETS",
    "QUEUE_DEPTH",
    "RANKER_ENGAGED_IMPRESSIONS",
    "RANKER_IMPRESSIONS",
    "REGISTRY",
    "SCRAPE_TIME_REGISTRY",
    "ScrapeTimeGauge",
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
OPEN_WEBSOCKETS = Gauge(
    "shutter_open_websockets",
    "Accepted websockets currently open.",
    # Several processes: the sum over the running ones (a dead process's sockets are gone).
    multiprocess_mode="livesum",
)

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
    "experiment arm of the RANKED page that served the post: formula, model (the active model), "
    "challenger (RANKER_CHALLENGER_VERSION), or unranked (no RANKED page served it lately).",
    ["arm"],
)
RANKER_ENGAGED_IMPRESSIONS = Counter(
    "shutter_ranker_engaged_impressions_total",
    "Reported impressions that became engaged (on screen at least 3 s, or the author's profile "
    "opened from it), by arm as shutter_ranker_impressions_total; the engagement rate of an arm "
    "is the ratio of the two. Likes and comments are joined offline (shutter ranker report).",
    ["arm"],
)


class ScrapeTimeGauge:
    """A gauge without labels whose value the scrape handler sets just before rendering it, kept
    in this process's memory in both modes: the value is read from a store that every process
    sees alike (Redis), so it needs no merging and no file."""

    def __init__(self, name: str, documentation: str, registry: CollectorRegistry) -> None:
        self._name = name
        self._documentation = documentation
        self._value: float | None = None
        registry.register(self)

    def set(self, value: float) -> None:
        """Set the value rendered from now on. Side effect: this object only."""
        self._value = value

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(self._name, self._documentation)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The gauge with its last value (no sample before the first `set`)."""
        yield GaugeMetricFamily(self._name, self._documentation, value=self._value)


SCRAPE_TIME_REGISTRY = CollectorRegistry(auto_describe=True)
"""Values read at scrape time by the API's /metrics handler (they need async I/O)."""
QUEUE_DEPTH = ScrapeTimeGauge(
    "shutter_job_queue_depth",
    "Jobs waiting in the arq queue (ZCARD), read when /metrics is scraped.",
    SCRAPE_TIME_REGISTRY,
)

MULTIPROCESS_DIR: str | None = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
"""The directory of the processes' metric files in multiprocess mode; None: one process. Set
but not an existing directory: importing this module fails (OSError or ValueError)."""


def _exposition_registry() -> CollectorRegistry:
    if MULTIPROCESS_DIR is None:
        return REGISTRY
    merged = CollectorRegistry()
    MultiProcessCollector(merged, path=MULTIPROCESS_DIR)  # type: ignore[no-untyped-call]
    return merged


EXPOSITION_REGISTRY = _exposition_registry()
"""What a scrape renders (besides SCRAPE_TIME_REGISTRY): the default registry of this process
with one process, the merge of every process's files with several."""

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
    """Serve EXPOSITION_REGISTRY over HTTP on `host:port` from a daemon thread
    (prometheus-client's own server). Side effect: a listening socket until the process ends."""
    start_http_server(port, addr=host, registry=EXPOSITION_REGISTRY)
