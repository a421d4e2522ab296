"""Prometheus metrics: /metrics on the real app (parsed with prometheus-client's own parser),
its guard, and the counters recorded by the feed read path, fan-out and jobs."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from arq.connections import ArqRedis
from arq.constants import default_queue_name
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

import metrics
from app import create_app
from resources import Resources
from services import feed
from services.feed import FeedOrder
from settings import Settings
from tests.api.helpers import sign_up
from tests.conftest import LiveApp, run_worker_until_idle
from tests.factories import make_user
from tests.feed_factories import feed_deps, insert_follows, insert_post

ROOT = Path(__file__).resolve().parent.parent

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(live: LiveApp) -> Samples:
    response = await live.http.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return parse(response.text)


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def registry_value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_operations_are_timed_by_type_and_bounded_name_and_errors_counted(
    live: LiveApp,
) -> None:
    before = await scrape(live)
    for _ in range(3):
        assert (await live.graphql("query Probe { __typename }"))["data"] == {"__typename": "Query"}
    await live.graphql("{ __typename }")
    await live.graphql(f"query {'N' * 65} {{ __typename }}")  # too long a name: anonymous
    for bad in ("{", "{ nope }"):  # does not parse; does not validate
        assert "errors" in (await live.http.post("/graphql", json={"query": bad})).json()
    unauthenticated = await live.graphql("query Notes { notifications { edges { cursor } } }")
    assert unauthenticated["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    after = await scrape(live)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    count = "shutter_graphql_operation_duration_seconds_count"
    assert delta(count, operation_type="query", operation_name="Probe") == 3
    assert delta(count, operation_type="query", operation_name="anonymous") == 3
    assert delta(count, operation_type="query", operation_name="Notes") == 1
    assert delta(count, operation_type="unknown", operation_name="anonymous") == 1
    errors = "shutter_graphql_errors_total"
    assert delta(errors, code="GRAPHQL_PARSE_FAILED") == 1
    assert delta(errors, code="GRAPHQL_VALIDATION_FAILED") == 1
    assert delta(errors, code="UNAUTHENTICATED") == 1
    assert not any(dict(labels).get("operation_name") == "N" * 65 for _, labels in after), (
        "an invalid name became a label"
    )


async def test_queue_depth_is_read_when_scraped(live: LiveApp) -> None:
    await live.resources.redis.zadd(default_queue_name, {"job-a": 1, "job-b": 2, "job-c": 3})
    assert value(await scrape(live), "shutter_job_queue_depth") == 3
    await live.resources.redis.zrem(default_queue_name, "job-a")
    assert value(await scrape(live), "shutter_job_queue_depth") == 2


async def test_open_websockets_are_counted(live: LiveApp) -> None:
    token = (await sign_up(live, "gauge"))["accessToken"]
    before = value(await scrape(live), "shutter_open_websockets")
    protocol = websockets.Subprotocol("graphql-transport-ws")
    async with websockets.connect(live.ws_url, subprotocols=[protocol]) as socket:
        init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
        await socket.send(json.dumps(init))
        assert json.loads(await socket.recv()) == {"type": "connection_ack"}
        assert value(await scrape(live), "shutter_open_websockets") == before + 1
    for _ in range(500):  # the server notices the close a moment later (at most ~10 s here)
        if value(await scrape(live), "shutter_open_websockets") == before:
            break
        await asyncio.sleep(0.02)
    assert value(await scrape(live), "shutter_open_websockets") == before


@pytest.fixture
async def app_client(settings: Settings) -> AsyncIterator[Any]:
    """A function making an httpx client on a fresh app (lifespan run) with extra settings,
    seen as coming from `client_host`."""
    opened: list[Any] = []

    async def make(client_host: str, **overrides: Any) -> httpx.AsyncClient:
        app = create_app(settings.model_copy(update=overrides))
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        opened.append(lifespan)
        transport = httpx.ASGITransport(app=app, client=(client_host, 40000))
        client = httpx.AsyncClient(transport=transport, base_url="http://shutter.test")
        opened.append(client)
        return client

    yield make
    for item in reversed(opened):
        await item.__aexit__(None, None, None)


async def test_metrics_are_loopback_only_without_a_token(app_client: Any) -> None:
    assert (await (await app_client("127.0.0.1")).get("/metrics")).status_code == 200
    assert (await (await app_client("10.1.2.3")).get("/metrics")).status_code == 403


async def test_with_a_token_metrics_need_it_from_anywhere(app_client: Any) -> None:
    remote = await app_client("10.1.2.3", metrics_token="scrape-secret")
    assert (await remote.get("/metrics")).status_code == 403
    wrong = {"authorization": "Bearer scrape-secreT"}
    assert (await remote.get("/metrics", headers=wrong)).status_code == 403
    right = {"authorization": "Bearer scrape-secret"}
    response = await remote.get("/metrics", headers=right)
    assert response.status_code == 200
    assert "shutter_job_queue_depth" in response.text
    local = await app_client("127.0.0.1", metrics_token="scrape-secret")
    assert (await local.get("/metrics")).status_code == 403


async def test_metrics_can_be_switched_off(app_client: Any) -> None:
    client = await app_client("127.0.0.1", metrics_enabled=False)
    assert (await client.get("/metrics")).status_code == 404


async def test_feed_reads_count_hits_misses_and_rebuilds(clean: Resources) -> None:
    deps = feed_deps(clean)
    reader = await make_user(clean.db, "reader")
    names = ("hit", "miss", "rebuild")
    before = {n: registry_value("shutter_feed_cache_total", result=n) for n in names}

    async def read() -> None:
        await feed.read_feed(deps, reader.id, first=10, after=None, order=FeedOrder.CHRONOLOGICAL)

    await read()  # no feed yet: a miss, rebuilt from PostgreSQL
    await read()  # now cached
    await read()
    after = {n: registry_value("shutter_feed_cache_total", result=n) for n in names}
    assert {n: after[n] - before[n] for n in names} == {"hit": 2, "miss": 1, "rebuild": 1}


async def test_fan_out_observes_the_lag_since_publication(clean: Resources) -> None:
    deps = feed_deps(clean)
    author = await make_user(clean.db, "author")
    follower = await make_user(clean.db, "follower")
    await insert_follows(clean.db, [(follower.id, author.id)])
    await feed.read_feed(deps, follower.id, first=10, after=None, order=FeedOrder.CHRONOLOGICAL)
    count_before = registry_value("shutter_fan_out_lag_seconds_count")
    fast_before = registry_value("shutter_fan_out_lag_seconds_bucket", le="5.0")
    post_id = await insert_post(clean.db, author.id, datetime.now(UTC))
    result = await feed.fan_out_post(deps, post_id)
    assert (result.batches, result.inserted) == (1, 1)
    assert registry_value("shutter_fan_out_lag_seconds_count") == count_before + 1
    assert registry_value("shutter_fan_out_lag_seconds_bucket", le="5.0") == fast_before + 1


async def test_jobs_are_timed_and_failures_counted_per_function(
    clean: Resources, settings: Settings, queue: ArqRedis
) -> None:
    def snapshot() -> dict[str, float]:
        return {
            "duration": registry_value("shutter_job_duration_seconds_count", job="fan_out_post"),
            "failures": registry_value("shutter_job_failures_total", job="fan_out_post"),
            "success": registry_value("shutter_jobs_total", job="fan_out_post", outcome="success"),
            "failure": registry_value("shutter_jobs_total", job="fan_out_post", outcome="failure"),
        }

    before = snapshot()
    await queue.enqueue_job("fan_out_post", 424242, _job_id="fan_out_post:424242")  # no post
    await queue.enqueue_job("fan_out_post", "not-an-id", _job_id="fan_out_post:bad")  # fails
    await run_worker_until_idle(settings)
    after = snapshot()
    assert {k: after[k] - before[k] for k in before} == {
        "duration": 2,
        "failures": 1,
        "success": 1,
        "failure": 1,
    }


async def test_one_process_keeps_its_metrics_in_memory(live: LiveApp) -> None:
    assert metrics.MULTIPROCESS_DIR is None
    assert metrics.EXPOSITION_REGISTRY is REGISTRY
    response = await live.http.get("/metrics")
    assert "python_info{" in response.text  # the default registry's own collectors


def test_several_processes_write_files_that_any_of_them_serves(tmp_path: Path) -> None:
    """In multiprocess mode (PROMETHEUS_MULTIPROC_DIR set before the import), values go to the
    directory's files and EXPOSITION_REGISTRY serves the merge of every process's files."""
    script = """
import sys
from prometheus_client import generate_latest
import metrics
metrics.JOB_OUTCOMES.labels("send_email", "success").inc()
metrics.OPEN_WEBSOCKETS.inc()
metrics.QUEUE_DEPTH.set(7)
assert metrics.MULTIPROCESS_DIR == sys.argv[1]
sys.stdout.write(generate_latest(metrics.EXPOSITION_REGISTRY).decode())
"""
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env |= {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}

    def run() -> Samples:
        result = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        return parse(result.stdout)

    run()
    second = run()  # another process: the first one's values are in its files
    assert value(second, "shutter_jobs_total", job="send_email", outcome="success") == 2
    assert value(second, "shutter_open_websockets") == 2  # livesum: no process marked dead
    assert not any(name == "shutter_job_queue_depth" for name, _ in second), "not file-backed"
    assert not any(name.startswith("python_") for name, _ in second)
    assert {path.name.split("_")[0] for path in tmp_path.iterdir()} == {
        "counter",
        "gauge",
        "histogram",
    }
