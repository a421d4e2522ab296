"""`shutter seed` in a process of its own: open the resources, carry out the demo plan through
the services (pictures processed here, so no worker is needed), then drain the jobs the seeding
queued (fan-out, search indexing) with a burst worker, and say how to log in."""

from __future__ import annotations

import sys
from typing import TextIO

from resources import open_resources
from services.reindex import ProgressBar
from services.seed import DEMO_PASSWORD, DEMO_USERNAME, SeedDeps, SeedReport, plan_demo, seed_demo
from settings import Settings
from workers import build_worker, processing_deps


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
            processing=processing_deps(settings, resources),
            concurrency=settings.media_processing_concurrency,
        )
        bar = ProgressBar(out)
        report = await seed_demo(deps, plan, bar)
        bar.finish()
    out.write("jobs     fan-out and search indexing ...\n")
    out.flush()
    await drain_queue(settings)
    return report


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
