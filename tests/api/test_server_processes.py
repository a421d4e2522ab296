"""`shutter serve` with WEB_CONCURRENCY=2 (web/server_processes.py): two API processes serve one
port, SIGTERM stops them all (exit 0), and a server process that dies ends the whole set."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
import psutil

from settings import Settings
from tests.api.processes import STOP_SECONDS, server_env, start_server, stop_server, wait_ready


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
