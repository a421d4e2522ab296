"""Shared benchmark plumbing: throwaway servers, a `shutter serve` process, an HTTP load loop
and percentiles. Everything talks to loopback only and stops by itself."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx

from services.tokens import AccessTokens
from storage.embedded import start_postgres, start_valkey
from storage.pg.migrate import apply_migrations

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def services() -> Iterator[tuple[str, str, Path]]:
    """(database URL, Redis URL, scratch folder): DATABASE_URL/REDIS_URL when set, else
    throwaway embedded servers; migrations applied."""
    with tempfile.TemporaryDirectory(prefix="shutter-bench-") as folder:
        scratch = Path(folder)
        postgres = None if os.environ.get("DATABASE_URL") else start_postgres(scratch / "pg")
        valkey = (
            None if os.environ.get("REDIS_URL") else start_valkey(scratch / "vk", persist=False)
        )
        try:
            database_url = os.environ.get("DATABASE_URL") or (postgres.url if postgres else "")
            redis_url = os.environ.get("REDIS_URL") or (valkey.url if valkey else "")
            apply_migrations(database_url)
            yield database_url, redis_url, scratch
        finally:
            if valkey:
                valkey.stop()
            if postgres:
                postgres.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def api_env(database_url: str, redis_url: str, scratch: Path, secret_key: str) -> dict[str, str]:
    """The environment of a `shutter serve` on these servers (for `api_server`/`api_process`),
    its data under `scratch` and its tokens signed with `secret_key`."""
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": secret_key,
        "SHUTTER_DATA_DIR": str(scratch / "data"),
    }


def bearer(tokens: AccessTokens, user_id: int) -> dict[str, str]:
    """Request headers with a fresh access token of `user_id` (a made-up session id)."""
    return {"authorization": f"Bearer {tokens.issue(user_id, uuid.uuid4())[0]}"}


@dataclass(frozen=True)
class ApiProcess:
    """A running `shutter serve`: its base URL and its process id (to read its memory)."""

    url: str
    pid: int


@contextlib.asynccontextmanager
async def api_server(env: dict[str, str]) -> AsyncIterator[str]:
    """`shutter serve` in its own process (one process, as in production); yields its URL."""
    async with api_process(env) as server:
        yield server.url


BENCH_SERVER_ENV = {"QUERY_BUDGET_POINTS": "1000000000", "QUERY_BUDGET_RESTORE_RATE": "1000000"}
"""A benchmark's load comes from a few synthetic clients, far beyond what the per-viewer query
budget lets one client do (docs/query-cost.md): the budget is set out of reach, while its check
(one Redis call per request) still runs and is measured."""


@contextlib.asynccontextmanager
async def api_process(env: dict[str, str]) -> AsyncIterator[ApiProcess]:
    """`shutter serve` in its own process, ready; yields its URL and pid."""
    port = free_port()
    process = subprocess.Popen(  # noqa: ASYNC220 (started once, before any load)
        [sys.executable, "-m", "cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=os.environ | BENCH_SERVER_ENV | env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(300):
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"{base_url}/readyz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError("the API server did not start")
        yield ApiProcess(base_url, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) process `pid` has used so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (a server's worker processes), from /proc (Linux)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
    return found


def tree_cpu_seconds(pid: int) -> float:
    """CPU time `pid` and its descendants have used so far (those still running)."""
    total = 0.0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            total += cpu_seconds(member)
    return total


def machine_busy_seconds() -> float:
    """CPU time all processes of the machine have used so far (every core; /proc/stat: all
    but idle and iowait)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuShares:
    """Who used the machine's CPU during a phase, in ms per request (see CpuMeter)."""

    per_request_ms: dict[str, float]

    def line(self) -> str:
        return ", ".join(f"{name} {ms:.2f}" for name, ms in self.per_request_ms.items())


class CpuMeter:
    """CPU time of named process trees (the server with its workers, PostgreSQL with its
    backends, Redis), of this load generator's own process (not its children: the servers it
    started), and of the whole machine, between `start` and `shares`: where each request's CPU
    goes, and how much went to other work on the machine."""

    def __init__(self, trees: Mapping[str, int]) -> None:
        self.trees = dict(trees)
        self._before: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        found = {name: tree_cpu_seconds(pid) for name, pid in self.trees.items()}
        found["load generator"] = time.process_time()
        found["whole machine"] = machine_busy_seconds()
        return found

    def start(self) -> None:
        self._before = self._now()

    def shares(self, requests: int) -> CpuShares:
        now = self._now()
        used = {name: (now[name] - self._before[name]) * 1000 / requests for name in now}
        used["other work"] = used["whole machine"] - sum(
            ms for name, ms in used.items() if name != "whole machine"
        )
        return CpuShares(used)


def peak_rss_mb(pid: int) -> dict[int, float]:
    """Peak resident set (VmHWM) of `pid` and each of its descendants, in MB, by process id."""
    peaks = {}
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks[member] = int(line.split()[1]) / 1024
    return peaks


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    latencies_ms: list[float]

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        return percentile(self.latencies_ms, p)


def percentile(values: list[float], p: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=1000, method="inclusive")[int(p * 10) - 1]


@contextlib.asynccontextmanager
async def load_client(base_url: str, concurrency: int) -> AsyncIterator[aiohttp.ClientSession]:
    """An aiohttp session for load: a few times cheaper per request than httpx, which matters
    when the load generator shares the machine's two cores with the server it measures."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(base_url, connector=connector) as session:
        yield session


async def post_graphql(
    session: aiohttp.ClientSession,
    query: str,
    variables: Mapping[str, object],
    headers: dict[str, str],
) -> dict[str, object]:
    async with session.post(
        "/graphql", json={"query": query, "variables": variables}, headers=headers
    ) as response:
        body: dict[str, object] = await response.json()
        if response.status != 200 or "errors" in body:
            raise RuntimeError(f"{response.status}: {body}")
        return body


async def run_load(
    send: Callable[[int], Awaitable[None]], *, requests: int, concurrency: int
) -> LoadResult:
    """Call send(i) for i in range(requests) with `concurrency` in flight; time each call."""
    latencies: list[float] = []
    counter = iter(range(requests))

    async def lane() -> None:
        for index in counter:
            started = time.perf_counter()
            await send(index)
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    return LoadResult(requests, time.perf_counter() - started, latencies)


def row(name: str, result: LoadResult) -> str:
    return (
        f"{name:<34} {result.throughput:>9.0f}/s  p50 {result.percentile(50):6.1f} ms  "
        f"p95 {result.percentile(95):6.1f} ms  p99 {result.percentile(99):6.1f} ms"
    )


FULL_COLLECTIONS = re.compile(rb'^python_gc_collections_total\{generation="2"\} ([0-9.e+]+)$', re.M)


async def full_collections(session: aiohttp.ClientSession, base_url: str) -> int | None:
    """How many full garbage collections the server has run (its /metrics, served to loopback
    clients); None when it does not say."""
    try:
        async with session.get(f"{base_url}/metrics") as response:
            found = FULL_COLLECTIONS.search(await response.read())
    except aiohttp.ClientError:
        return None
    return int(float(found[1])) if found else None


def freeze_client_heap() -> None:
    """Move everything this load generator holds so far (data sets, sockets) out of the garbage
    collector's reach, so that its own full collections stay short and what the latency
    figures time is the server (as the server does after its start-up, see app.py)."""
    gc.collect()
    gc.freeze()
