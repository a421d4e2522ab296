"""`python -m bench.moderation_queue`: what a page of the moderation queue costs as open cases
pile up (docs/moderation.md, "The queue"), beside the audit log's page in the same run.

The queue's priority (severity × distinct reporters × reach) depends on reports that keep
arriving, so it is computed per request over every open case, in one SQL statement, not stored.
This measures that choice: N open cases (each with 1-5 reports of random reasons, owners with
random follower counts, posts with random likes) and a first page and a next page of 20 for a
moderator, one request at a time; the baseline is the audit log's first page of 20 (a keyset
read on an index) on the same data, in the same rounds. Service calls in this process against
throwaway embedded PostgreSQL (or DATABASE_URL): what the resolver adds is a few fields.

    python -m bench.moderation_queue [--cases 100 1000 10000] [--rounds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import time
import uuid
from collections.abc import Awaitable, Callable

import asyncpg

from bench.harness import percentile, services
from services import moderation_log, moderation_queue
from services.auth import Viewer
from storage.pg import create_pool

REASONS = ["SPAM", "NUDITY", "HARASSMENT", "VIOLENCE", "HATE", "SELF_HARM", "OTHER"]


async def fill(db: asyncpg.Pool, cases: int, rng: random.Random) -> int:
    """Accounts, posts, `cases` open cases of posts with their reports and as many log
    entries; returns the moderator's id. Set-based inserts (seconds for 10,000 cases)."""
    await db.execute(
        "TRUNCATE users, posts, moderation_cases, reports, moderation_actions RESTART IDENTITY"
        " CASCADE"
    )
    accounts = max(50, cases // 5)
    await db.execute(
        """
        INSERT INTO users (username, email, password_hash, follower_count, role)
        SELECT 'u' || i, 'u' || i || '@example.com', 'x', (random() * 5000)::int,
               CASE WHEN i = 1 THEN 'MODERATOR' ELSE 'USER' END
          FROM generate_series(1, $1) i
        """,
        accounts,
    )
    await db.execute(
        """
        INSERT INTO posts (author_id, caption, status, like_count, published_at)
        SELECT 2 + (i % ($2 - 1)), 'post ' || i, 'PUBLISHED', (random() * 300)::int, now()
          FROM generate_series(1, $1) i
        """,
        cases,
        accounts,
    )
    await db.execute(
        """
        INSERT INTO moderation_cases (subject_kind, subject_id, subject_owner_id, sources)
        SELECT 'POST', p.id, p.author_id, ARRAY['REPORTS'] FROM posts p ORDER BY p.id
        """
    )
    rows = [
        (case_id, reporter, rng.choice(REASONS))
        for case_id in range(1, cases + 1)
        for reporter in rng.sample(range(2, accounts + 1), rng.randint(1, 5))
    ]
    await db.copy_records_to_table(
        "reports",
        records=[(c, r, "POST", c, reason) for c, r, reason in rows],
        columns=["case_id", "reporter_id", "subject_kind", "subject_id", "reason"],
    )
    await db.execute(
        """
        INSERT INTO moderation_actions (actor_id, action, subject_kind, subject_id, reason)
        SELECT 1, 'DISMISS', 'POST', i, 'bench' FROM generate_series(1, $1) i
        """,
        cases,
    )
    await db.execute("ANALYZE")
    return 1


async def timed(call: Callable[[], Awaitable[object]]) -> float:
    start = time.perf_counter()
    await call()
    return (time.perf_counter() - start) * 1000


async def measure(db: asyncpg.Pool, viewer: Viewer, rounds: int) -> dict[str, list[float]]:
    first = await moderation_queue.list_queue(db, viewer, first=20, after=None)
    after = first.edges[-1][0]
    admin = Viewer(viewer.user_id, viewer.session_id)
    await db.execute("UPDATE users SET role = 'ADMIN' WHERE id = $1", viewer.user_id)
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "queue, first page": lambda: moderation_queue.list_queue(db, admin, first=20, after=None),
        "queue, next page": lambda: moderation_queue.list_queue(db, admin, first=20, after=after),
        "audit log page (baseline)": lambda: moderation_log.list_audit_log(
            db, admin, first=20, after=None
        ),
    }
    timings: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(3):  # warm the caches and the prepared statements
        for call in calls.values():
            await call()
    for index in range(rounds):
        order = list(calls.items())
        if index % 2:
            order.reverse()  # the machine's speed drifts: alternate who goes first
        for name, call in order:
            timings[name].append(await timed(call))
    return timings


async def main(sizes: list[int], rounds: int) -> None:
    rng = random.Random(19)
    with services() as (database_url, _redis_url, _scratch):
        db = await create_pool(database_url, min_size=1, max_size=2)
        try:
            print(f"{'open cases':>10}  {'read':<26} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
            for cases in sizes:
                moderator = await fill(db, cases, rng)
                timings = await measure(db, Viewer(moderator, uuid.uuid4()), rounds)
                for name, values in timings.items():
                    print(
                        f"{cases:>10}  {name:<26} {percentile(values, 50):>8.2f}"
                        f" {percentile(values, 95):>8.2f} {percentile(values, 99):>8.2f}"
                    )
        finally:
            await db.close()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak_mib:.0f} MiB ({rounds} rounds per size)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--rounds", type=int, default=60)
    args = parser.parse_args()
    asyncio.run(main(args.cases, args.rounds))
