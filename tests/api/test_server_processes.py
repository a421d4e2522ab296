"""`shutter serve` with WEB_CONCURRENCY=2 (web/server_processes.py): two API processes serve one
port, SIGTERM stops them all (exit 0), a server process that dies ends the whole set, and
/metrics of either process reports the metrics of both (prometheus-client's multiprocess mode)."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import httpx
import psutil
import pytest
import websockets
from prometheus_client.multiprocess import MultiProcessCollector

from settings import Settings
from tests.api.processes import (
    STARTUP_SECONDS,
    STOP_SECONDS,
    server_env,
    start_server,
    stop_server,
    wait_ready,
)
from tests.test_metrics import parse, value
from web.server_processes import forget_process_metrics

CLOSE = {"connection": "close"}
"""A fresh connection per request: the kernel spreads connections (not requests) over the
processes."""
OPERATION_COUNT = "shutter_graphql_operation_duration_seconds_count"


def serving_children(pid: int) -> list[psutil.Process]:
    return [
        child for child in psutil.Process(pid).children() if child.cmdline()[-1] == "--reuse-port"
    ]


async def test_two_processes_serve_one_port_and_stop_together(
    settings: Settings, tmp_path: Path
) -> None:
    env = server_env(settings, tmp_path / "data") | {"WEB_CONCURRENCY": "2"}
    server = start_server(env, tmp_path / "server.log")
    try:
        await wait_ready(server)
        children = serving_children(server.process.pid)
        assert len(children) == 2, server.log_tail()
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
            for _ in range(4):
                response = await client.post(
                    "/graphql", json={"query": "{ __typename }"}, headers={"connection": "close"}
                )
                assert response.json() == {"data": {"__typename": "Query"}}
        server.process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(server.process.wait, STOP_SECONDS) == 0
        gone, alive = psutil.wait_procs(children, timeout=STOP_SECONDS)
        assert alive == []
        assert len(gone) == 2
    finally:
        stop_server(server)


async def test_a_server_process_that_dies_ends_the_set(settings: Settings, tmp_path: Path) -> None:
    env = server_env(settings, tmp_path / "data") | {"WEB_CONCURRENCY": "2"}
    server = start_server(env, tmp_path / "server.log")
    try:
        await wait_ready(server)
        first, second = serving_children(server.process.pid)
        first.kill()
        assert await asyncio.to_thread(server.process.wait, STOP_SECONDS + 30) == 1
        assert not second.is_running() or second.status() == psutil.STATUS_ZOMBIE
        assert "exited with status -9" in server.log_tail()
    finally:
        stop_server(server)


def metrics_directory(data_dir: Path, parent_pid: int) -> Path:
    """The shared metrics directory the parent made in its temporary folder."""
    (directory,) = (data_dir / "tmp").glob(f"{parent_pid}-*/metrics-*")
    return directory


def operations_recorded_by(directory: Path, pid: int, name: str) -> float:
    """How many `name` queries process `pid` timed, read from its own histogram file."""
    files = [str(path) for path in directory.glob(f"histogram_{pid}.db")]
    return sum(
        sample.value
        for metric in MultiProcessCollector.merge(files)
        for sample in metric.samples
        if sample.name == OPERATION_COUNT and sample.labels.get("operation_name") == name
    )


async def wait_listening(children: list[psutil.Process], port: int) -> None:
    """Until every child listens on `port` (/readyz answered by one of them says nothing of
    the other; connections are spread only over the sockets already listening)."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while not all(
        any(
            c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in child.net_connections()
        )
        for child in children
    ):
        assert time.monotonic() < deadline, "a server process never listened"
        await asyncio.sleep(0.05)


async def test_metrics_of_either_process_count_every_process(
    settings: Settings, tmp_path: Path
) -> None:
    requests, scrapes = 40, 12
    data_dir = tmp_path / "data"
    env = server_env(settings, data_dir) | {"WEB_CONCURRENCY": "2"}
    server = start_server(env, tmp_path / "server.log")
    try:
        await wait_ready(server)
        children = serving_children(server.process.pid)
        await wait_listening(children, server.port)
        query = {"query": "query CountedEverywhere { __typename }"}
        async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:

            async def scrape() -> str:
                response = await client.get("/metrics", headers=CLOSE)
                assert response.status_code == 200, response.text
                return response.text

            for _ in range(requests):
                response = await client.post("/graphql", json=query, headers=CLOSE)
                assert response.json() == {"data": {"__typename": "Query"}}
            texts = [await scrape() for _ in range(scrapes)]
            counts = [
                value(
                    parse(text),
                    OPERATION_COUNT,
                    operation_type="query",
                    operation_name="CountedEverywhere",
                )
                for text in texts
            ]
            assert counts == [requests] * scrapes, counts
            # Each process recorded its share in its own file: both served some of them.
            directory = metrics_directory(data_dir, server.process.pid)
            shares = [
                operations_recorded_by(directory, child.pid, "CountedEverywhere")
                for child in children
            ]
            assert all(share > 0 for share in shares), shares
            assert sum(shares) == requests
            # The queue depth is read at scrape time, once per answer (not from the files).
            assert all(text.count("# TYPE shutter_job_queue_depth gauge") == 1 for text in texts)

            # A websocket open on one process counts in the answer of either (livesum).
            assert {value(parse(await scrape()), "shutter_open_websockets") for _ in range(4)} == {
                0
            }
            protocol = websockets.Subprotocol("graphql-transport-ws")
            async with websockets.connect(server.ws_url, subprotocols=[protocol]):
                open_counts = {
                    value(parse(await scrape()), "shutter_open_websockets") for _ in range(scrapes)
                }
            assert open_counts == {1}
        server.process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(server.process.wait, STOP_SECONDS) == 0
        assert not directory.exists(), "the metrics directory outlived the set"
    finally:
        stop_server(server)


def test_a_dead_process_leaves_the_live_gauges_and_stays_in_the_totals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("gauge_livesum_41.db", "counter_41.db", "histogram_41.db", "gauge_livesum_42.db"):
        (tmp_path / name).write_bytes(b"")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    forget_process_metrics(41)
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "counter_41.db",
        "gauge_livesum_42.db",
        "histogram_41.db",
    ]
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    forget_process_metrics(42)  # no directory: nothing to do
    assert (tmp_path / "gauge_livesum_42.db").exists()
