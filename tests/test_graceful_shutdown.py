"""SIGTERM under load, on real processes: `shutter serve` stops listening, closes websockets with
1001 (going away), finishes every in-flight request and exits 0; `shutter worker` lets a running
job finish, or puts it back in the queue for the next worker. Nothing is lost or done twice."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import websockets
from arq.connections import ArqRedis
from arq.constants import default_queue_name
from arq.jobs import Job
from websockets.exceptions import ConnectionClosed

from resources import Resources
from services import feed
from services.feed import FeedOrder
from settings import Settings
from storage import jobs
from tests.api.helpers import PASSWORD, SIGN_UP
from tests.api.processes import server_env, start_server, stop_server, wait_ready
from tests.conftest import free_port, run_worker_until_idle
from tests.factories import make_user
from tests.feed_factories import feed_deps, insert_follows, insert_post
from tests.waits import until_read_by_server

ROOT = Path(__file__).resolve().parent.parent
GRACE_SECONDS = 10
IN_FLIGHT = 20


def sign_up_body(username: str) -> bytes:
    variables = {
        "input": {"username": username, "email": f"{username}@example.com", "password": PASSWORD}
    }
    return json.dumps({"query": SIGN_UP, "variables": variables}).encode()


async def test_sigterm_drains_requests_closes_websockets_going_away_and_exits_0(
    clean: Resources, settings: Settings, tmp_path: Path
) -> None:
    env = server_env(settings, tmp_path / "data") | {
        "PASSWORD_HASH_TIME_COST": "1",
        "PASSWORD_HASH_MEMORY_KIB": "1024",
        "SHUTDOWN_GRACE_SECONDS": str(GRACE_SECONDS),
        # Every request below is a sign-up from 127.0.0.1: more than the default allowance.
        "SIGN_UPS_PER_IP": "1000",
    }
    server = start_server(env, tmp_path / "server.log")
    try:
        await wait_ready(server)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            signed_up = (
                await http.post(
                    "/graphql",
                    content=sign_up_body("listener"),
                    headers={"content-type": "application/json"},
                )
            ).json()
            token = signed_up["data"]["signUp"]["accessToken"]

            socket = await websockets.connect(
                server.ws_url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]
            )
            init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
            await socket.send(json.dumps(init))
            assert json.loads(await socket.recv()) == {"type": "connection_ack"}
            subscription = "subscription { notificationReceived { id } }"
            await socket.send(
                json.dumps({"id": "1", "type": "subscribe", "payload": {"query": subscription}})
            )

            # Requests whose bodies arrive in two halves: in flight until `release` is set.
            release = asyncio.Event()
            halfway = [asyncio.Event() for _ in range(IN_FLIGHT)]

            async def trickle(body: bytes, sent_half: asyncio.Event) -> AsyncIterator[bytes]:
                yield body[: len(body) // 2]
                sent_half.set()
                await release.wait()
                yield body[len(body) // 2 :]

            requests = [
                asyncio.create_task(
                    http.post(
                        "/graphql",
                        content=trickle(sign_up_body(f"late{index}"), halfway[index]),
                        headers={"content-type": "application/json"},
                    )
                )
                for index in range(IN_FLIGHT)
            ]
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in halfway)), 10)
            # The server has read every request's headers (and the websocket's frames).
            await until_read_by_server(urlsplit(server.base_url).port or 80, IN_FLIGHT + 1)

            server.process.send_signal(signal.SIGTERM)
            terminated_at = time.monotonic()

            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(socket.recv(), 5)
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1001

            with pytest.raises(httpx.ConnectError):
                async with httpx.AsyncClient(timeout=2) as fresh:
                    await fresh.get(f"{server.base_url}/healthz")
            assert server.process.poll() is None, "exited with requests in flight"

            release.set()
            responses = await asyncio.wait_for(asyncio.gather(*requests), 10)
        for index, response in enumerate(responses):
            assert response.status_code == 200, response.text
            payload = response.json()["data"]["signUp"]
            assert payload["userErrors"] == []
            assert payload["viewer"]["username"] == f"late{index}"
        returncode = await asyncio.to_thread(server.process.wait, GRACE_SECONDS + 5)
        assert returncode == 0, server.log_tail()
        assert time.monotonic() - terminated_at < GRACE_SECONDS
    finally:
        stop_server(server)
    log = server.log_path.read_text()
    assert "Traceback" not in log, log[-4000:]
    assert await clean.db.fetchval("SELECT count(*) FROM users") == IN_FLIGHT + 1


async def published_to_a_live_feed(clean: Resources) -> tuple[int, int]:
    """(follower id, post id): a just-published post of someone the follower follows, whose
    feed is live (so fan-out writes into it)."""
    author = await make_user(clean.db, "author")
    follower = await make_user(clean.db, "follower")
    await insert_follows(clean.db, [(follower.id, author.id)])
    await feed_ids(clean, follower.id)  # installs the follower's feed
    return follower.id, await insert_post(clean.db, author.id, datetime.now(UTC))


async def feed_ids(clean: Resources, user_id: int) -> list[int]:
    page = await feed.read_feed_ids(
        feed_deps(clean), user_id, first=50, after=None, order=FeedOrder.CHRONOLOGICAL
    )
    return [post_id for _, post_id in page.edges]


def start_worker(settings: Settings, **extra: str) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "DATABASE_URL": str(settings.database_url),
        "REDIS_URL": str(settings.redis_url),
        "SHUTTER_DATA_DIR": str(settings.data_dir),
        "SECRET_KEY": str(settings.secret_key),
        **extra,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


async def wait_until_blocked_on_follows(clean: Resources, worker: subprocess.Popen[bytes]) -> None:
    """Until the job's query waits for the lock the test holds on `follows`."""
    deadline = time.monotonic() + 20
    while not await clean.db.fetchval(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE wait_event_type = 'Lock' AND query ILIKE '%follows%'"
    ):
        assert worker.poll() is None, "the worker exited"
        assert time.monotonic() < deadline, "the job never started"
        await asyncio.sleep(0.05)


async def test_sigterm_lets_the_running_job_finish(
    clean: Resources, settings: Settings, queue: ArqRedis
) -> None:
    follower_id, post_id = await published_to_a_live_feed(clean)
    metrics_port = free_port()
    job_id = f"{jobs.FAN_OUT_POST}:{post_id}"
    async with clean.db.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute("LOCK TABLE follows IN ACCESS EXCLUSIVE MODE")
        worker = start_worker(
            settings, SHUTDOWN_GRACE_SECONDS="10", WORKER_METRICS_PORT=str(metrics_port)
        )
        try:
            assert await jobs.enqueue_fan_out_post(queue, post_id)
            await wait_until_blocked_on_follows(clean, worker)
            async with httpx.AsyncClient(timeout=5) as http:
                scraped = await http.get(f"http://127.0.0.1:{metrics_port}/metrics")
            assert scraped.status_code == 200
            assert "shutter_job_duration_seconds" in scraped.text

            worker.send_signal(signal.SIGTERM)
            # Deliberate: a window in which the worker must NOT exit (nothing to wait on). A
            # slow signal delivery only makes it weaker, never a false failure.
            await asyncio.sleep(1.0)
            assert worker.poll() is None, "the worker did not wait for its running job"
        finally:
            await transaction.rollback()  # releases the lock: the job goes on
    try:
        _, stderr = await asyncio.to_thread(worker.communicate, timeout=15)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, stderr.decode(errors="replace")[-4000:]
    info = await Job(job_id, queue).result_info()
    assert info is not None
    assert (info.success, info.job_try, info.result) == (True, 1, "1 batches, 1 inserted")
    assert (await feed_ids(clean, follower_id)).count(post_id) == 1


async def test_a_job_still_running_after_the_grace_returns_to_the_queue(
    clean: Resources, settings: Settings, queue: ArqRedis
) -> None:
    follower_id, post_id = await published_to_a_live_feed(clean)
    job_id = f"{jobs.FAN_OUT_POST}:{post_id}"
    async with clean.db.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        await conn.execute("LOCK TABLE follows IN ACCESS EXCLUSIVE MODE")
        worker = start_worker(settings, SHUTDOWN_GRACE_SECONDS="1")
        try:
            assert await jobs.enqueue_fan_out_post(queue, post_id)
            await wait_until_blocked_on_follows(clean, worker)
            worker.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.to_thread(worker.communicate, timeout=15)
            assert worker.returncode == 0, stderr.decode(errors="replace")[-4000:]
            assert await queue.zscore(default_queue_name, job_id) is not None, "job lost"
            assert await Job(job_id, queue).result_info() is None
        finally:
            if worker.poll() is None:
                worker.kill()
            await transaction.rollback()
    await run_worker_until_idle(settings)  # the next worker
    info = await Job(job_id, queue).result_info()
    assert info is not None
    assert (info.success, info.job_try, info.result) == (True, 2, "1 batches, 1 inserted")
    assert (await feed_ids(clean, follower_id)).count(post_id) == 1
