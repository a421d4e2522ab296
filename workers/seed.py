"""`shutter seed` in a process of its own: open the resources, run a worker (which, with any
other running one, such as `shutter run`'s, processes the pictures' jobs), carry out the demo
plan through the services, then drain the jobs the seeding queued (fan-out, search indexing)
with a burst worker, and say how to log in."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from typing import TextIO

from resources import open_resources
from services.reindex import ProgressBar
from services.seed import (
    DEMO_PASSWORD,
    DEMO_USERNAME,
    SeedDeps,
    SeedReport,
    check_not_seeded,
    plan_demo,
    seed_demo,
)
from settings import Settings
from workers import ARQ_TIMEOUT_MARGIN_SECONDS, build_worker
from workers.jobs import RETRY_BACKOFF_SECONDS
from workers.supervisor import WorkerSupervisor


async def run_seed(
    settings: Settings, *, users: int, posts_per_user: int, seed: int, out: TextIO = sys.stderr
) -> SeedReport:
    """Seed the configured PostgreSQL/Redis/blob store with demo data; see services.seed.

    Raises AlreadySeededError (nothing written) when the demo accounts exist, ValueError for
    sizes out of range. Side effects: everything seed_demo does, then the queued jobs run.
    """
    plan = plan_demo(users, posts_per_user, seed)
    async with open_resources(settings) as resources:
        deps = SeedDeps(
            accounts=resources.accounts,
            social=resources.social,
            posts=resources.posts,
            media=resources.media,
            concurrency=settings.media_processing_concurrency,
            picture_timeout_seconds=picture_timeout_seconds(settings),
        )
        await check_not_seeded(deps, plan)  # a refusal starts no worker
        async with _worker_running(settings):
            bar = ProgressBar(out)
            report = await seed_demo(deps, plan, bar)
            bar.finish()
    out.write("jobs     fan-out and search indexing ...\n")
    out.flush()
    await drain_queue(settings)
    return report


def picture_timeout_seconds(settings: Settings) -> float:
    """The longest one media job may take: each try's limit, and the backoffs between tries."""
    tries = settings.media_job_max_tries
    return float(
        tries * (settings.media_job_timeout_seconds + ARQ_TIMEOUT_MARGIN_SECONDS)
        + sum(RETRY_BACKOFF_SECONDS[: tries - 1])
    )


@contextlib.asynccontextmanager
async def _worker_running(settings: Settings) -> AsyncIterator[None]:
    """A worker running jobs for the block (through Redis restarts: workers.supervisor); when
    the block ends it takes no new job and its running jobs get SHUTDOWN_GRACE_SECONDS."""
    supervisor = WorkerSupervisor(settings)
    running = asyncio.create_task(supervisor.run())
    try:
        yield
    finally:
        await supervisor.stop(settings.shutdown_grace_seconds)
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


async def drain_queue(settings: Settings) -> None:
    """Run a burst worker until the queue is empty (a running `shutter run` may share the work).
    Side effects: whatever the queued jobs do."""
    worker = build_worker(settings, burst=True, handle_signals=False)
    try:
        await worker.async_run()
    finally:
        await worker.close()


def summary(report: SeedReport, graphql_url: str) -> str:
    """What was made, and how to look at it."""
    return (
        f"\nSeeded {report.users} users, {report.follows} follows, {report.posts} posts "
        f"({report.images} pictures), {report.likes} likes, {report.comments} comments.\n\n"
        f"  Log in at {graphql_url} as `{DEMO_USERNAME}` with password `{DEMO_PASSWORD}`\n"
        f"  (every seeded account has that password):\n\n"
        f'  mutation {{ logIn(input: {{usernameOrEmail: "{DEMO_USERNAME}", '
        f'password: "{DEMO_PASSWORD}"}}) {{ accessToken }} }}\n\n'
        '  then set the header  {"Authorization": "Bearer <accessToken>"}  and ask for\n'
        "  { feed(first: 10) { edges { node { caption author { username } likeCount "
        "media { image(minWidth: 640) { url } } } } } }\n"
    )
