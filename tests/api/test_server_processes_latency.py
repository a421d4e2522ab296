"""With WEB_CONCURRENCY > 1 each API process serves its own SO_REUSEPORT socket; the accepted
connections must be TCP ones to the event loop (TCP_NODELAY set). Handed to uvicorn as a bare
descriptor, the socket was taken for a Unix-domain one, Nagle's algorithm stayed on, and every
response waited out the client's delayed ACK: at least 40 ms per request on Linux, whatever the
work (measured: `{ __typename }` 48 ms at the median, against 2-3 ms with one process)."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import httpx

from settings import Settings
from tests.api.processes import running_servers, server_env

DELAYED_ACK_MS = 40.0
"""Linux's shortest delayed ACK: the floor of every request while Nagle's algorithm is on."""


async def test_requests_on_a_kept_alive_connection_do_not_wait_for_delayed_acks(
    settings: Settings, tmp_path: Path
) -> None:
    env = server_env(settings, tmp_path / "data") | {"WEB_CONCURRENCY": "2"}
    durations = []
    async with (
        running_servers(env, tmp_path, 1) as (server,),
        httpx.AsyncClient(base_url=server.base_url, timeout=10) as client,
    ):
        for _ in range(21):
            started = time.perf_counter()
            response = await client.post("/graphql", json={"query": "{ __typename }"})
            durations.append((time.perf_counter() - started) * 1000)
            assert response.json() == {"data": {"__typename": "Query"}}
    assert statistics.median(durations) < DELAYED_ACK_MS / 2, durations
