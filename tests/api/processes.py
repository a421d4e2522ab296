"""`shutter serve` in real subprocesses on loopback, for tests that need more than one server
process (or a server on its own Redis): started from the test's settings, waited for on /readyz,
always stopped."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from settings import Settings
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent.parent
STARTUP_SECONDS = 30.0
STOP_SECONDS = 10.0


@dataclass(frozen=True)
class ServerProcess:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def log_tail(self, chars: int = 4000) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-chars:]
        return ""


def server_env(
    settings: Settings, data_dir: Path, *, redis_url: str | None = None
) -> dict[str, str]:
    """The environment of a server process sharing the test session's PostgreSQL and key (and
    its Redis unless `redis_url` says otherwise)."""
    assert settings.database_url
    assert settings.redis_url
    assert settings.secret_key
    return os.environ | {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": redis_url or settings.redis_url,
        "SECRET_KEY": settings.secret_key,
        "SHUTTER_DATA_DIR": str(data_dir),
        # As in the in-process test settings: responses without the cost report.
        "QUERY_COST_IN_EXTENSIONS": "false",
    }


def start_server(env: dict[str, str], log_path: Path) -> ServerProcess:
    """Spawn `python -m cli serve` on a free loopback port (output into `log_path`)."""
    port = free_port()
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    return ServerProcess(process=process, port=port, log_path=log_path)


async def wait_ready(*servers: ServerProcess) -> None:
    """Until every server answers 200 on /readyz (AssertionError with its log if not)."""
    deadline = time.monotonic() + STARTUP_SECONDS
    async with httpx.AsyncClient(timeout=1) as client:
        for server in servers:
            while True:
                if server.process.poll() is not None:
                    raise AssertionError(f"the server exited early:\n{server.log_tail()}")
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"{server.base_url}/readyz")).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"the server was not ready in {STARTUP_SECONDS}s:\n{server.log_tail()}"
                    )
                await asyncio.sleep(0.1)


def stop_server(server: ServerProcess) -> None:
    """SIGTERM (uvicorn shuts down gracefully), SIGKILL if it lingers."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=STOP_SECONDS)


@contextlib.asynccontextmanager
async def running_servers(
    env: dict[str, str], log_dir: Path, count: int
) -> AsyncIterator[list[ServerProcess]]:
    """`count` ready server processes with the same environment; all stopped when the block
    ends (also when starting one of them fails)."""
    servers: list[ServerProcess] = []
    try:
        for index in range(count):
            servers.append(start_server(env, log_dir / f"server-{index}.log"))
        await wait_ready(*servers)
        yield servers
    finally:
        for server in servers:
            stop_server(server)
