"""`python -m bench.privacy_feed`: what blocks and mutes cost the home feed (#18, Performance).

On the shared data set (bench.datagen, with bench.graphql_feed's READY photos), two viewers
follow the same 2,000 accounts, 10% of them private (approved follows, so their posts belong in
the feed):
- `baseline`: nothing else;
- `privacy`: also blocks 1,000 other accounts and mutes 1,000 of the 2,000 it follows (muting is
  for accounts one follows; a block removes follows, so blocked accounts are not followed).
Both ask the feed in its default order (RANKED) for 20 posts, in the same server process and
the same rounds (the order of the two alternates between rounds, as the machine's speed
drifts): throughput at concurrency 16, then paced at 60% of the baseline's throughput for
latency percentiles. Then SQL statements per feed request for both (in-process, the app's
statement counter, as bench.graphql_feed), and the block clean-up: an account followed by
10,000 accounts, with its posts in the blocker's cached feed, is blocked over HTTP; the time is
from sending the mutation until the `clean_feeds_after_block` job, in a `shutter worker`
process, has left none of its posts in the blocker's cached feed (target <= 2 s).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
from arq.jobs import Job, JobStatus

from bench import datagen
from bench.graphql_feed.__main__ import attach_media, paced
from bench.harness import (
    BENCH_SERVER_ENV,
    ROOT,
    LoadResult,
    api_env,
    api_process,
    bearer,
    load_client,
    post_graphql,
    run_load,
    services,
)
from schema.global_ids import encode_global_id
from services.tokens import AccessTokens
from settings import Settings
from storage import jobs, redis_keys
from storage.redis_client import redis_client

FEED = """
query Feed($first: Int!) {
  feed(first: $first) {
    edges { node { id author { username } likeCount commentCount viewerHasLiked
                   media { image(minWidth: 640) { url width } } } }
  }
}
"""
BLOCK = "mutation B($id: ID!) { blockUser(input: {userId: $id}) { userErrors { code } } }"
FOLLOWING = 2000
BLOCKED = 1000
MUTED = 1000
PRIVATE_SHARE = 10  # one in ten followed accounts is private
CLEANUP_FOLLOWERS = 10_000
CLEANUP_POSTS = 200


async def new_viewer(db: asyncpg.Pool, name: str, followees: list[int]) -> int:
    """A user following `followees` (counters exact). Side effects: rows."""
    viewer_id: int = await db.fetchval(
        "INSERT INTO users (username, email, password_hash) VALUES ($1, $1 || '@bench.example',"
        " '-') RETURNING id",
        name,
    )
    await db.execute(
        "INSERT INTO follows (follower_id, followee_id) SELECT $1, unnest($2::bigint[])",
        viewer_id,
        followees,
    )
    await db.execute(
        """
        UPDATE users SET following_count = following_count + CASE WHEN id = $1
                 THEN cardinality($2::bigint[]) ELSE 0 END,
               follower_count = follower_count + CASE WHEN id = $1 THEN 0 ELSE 1 END
         WHERE id = $1 OR id = ANY($2::bigint[])
        """,
        viewer_id,
        followees,
    )
    return viewer_id


async def build_viewers(db: asyncpg.Pool) -> tuple[int, int, list[int]]:
    """(baseline viewer, privacy viewer, the accounts both follow)."""
    # The 2,000 accounts followed: the most followed ones, as a real heavy follower's would be
    # (celebrities included: their posts are pulled at read time).
    followees = [
        row["id"]
        for row in await db.fetch(
            "SELECT id FROM users ORDER BY follower_count DESC, id LIMIT $1", FOLLOWING
        )
    ]
    baseline = await new_viewer(db, "bench_baseline", followees)
    privacy = await new_viewer(db, "bench_privacy", followees)
    await db.execute(
        "UPDATE users SET is_private = true WHERE id = ANY($1::bigint[])",
        followees[::PRIVATE_SHARE],
    )
    others = [
        row["id"]
        for row in await db.fetch(
            "SELECT id FROM users WHERE id <> ALL($1::bigint[]) AND id NOT IN ($2, $3)"
            " ORDER BY follower_count DESC, id LIMIT $4",
            followees,
            baseline,
            privacy,
            BLOCKED,
        )
    ]
    await db.execute(
        "INSERT INTO blocks (blocker_id, blocked_id) SELECT $1, unnest($2::bigint[])",
        privacy,
        others,
    )
    await db.execute(
        "INSERT INTO mutes (muter_id, muted_id) SELECT $1, unnest($2::bigint[])",
        privacy,
        followees[1::2][:MUTED],
    )
    for table in ("users", "follows", "blocks", "mutes"):
        await db.execute(f"VACUUM (ANALYZE) {table}")
    return baseline, privacy, followees


async def statements_per_request(settings: Settings, viewer_id: int, tokens: AccessTokens) -> int:
    """SQL statements of one warm feed request of 20 (in-process app, same database)."""
    import httpx

    from app import create_app

    app = create_app(settings)
    counts: list[int] = []
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = bearer(tokens, viewer_id)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for _ in range(3):
                before = app.state.resources.sql_statements.count
                await client.post(
                    "/graphql", json={"query": FEED, "variables": {"first": 20}}, headers=headers
                )
                counts.append(app.state.resources.sql_statements.count - before)
    return counts[-1]


@contextlib.asynccontextmanager
async def worker_process(env: dict[str, str], redis_url: str) -> AsyncIterator[None]:
    """`shutter worker` in its own process, ready (it has run a no-op clean-up job of users 0
    and 0, who have no feeds), while the block is measured."""
    process = subprocess.Popen(  # noqa: ASYNC220 (started once, before the measurement)
        [sys.executable, "-m", "cli", "worker"],
        cwd=ROOT,
        env=os.environ | BENCH_SERVER_ENV | env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    redis = redis_client(redis_url, timeout_seconds=10)
    try:
        await jobs.enqueue_clean_feeds_after_block(redis, 0, 0, 0)
        job = Job(f"{jobs.CLEAN_FEEDS_AFTER_BLOCK}:0:0:0", redis)
        async with asyncio.timeout(60):
            while await job.status() != JobStatus.complete:  # noqa: ASYNC110 (arq: polled)
                await asyncio.sleep(0.05)
        yield
    finally:
        await redis.aclose()
        process.terminate()
        process.wait(timeout=30)


async def block_cleanup_seconds(
    db: asyncpg.Pool, redis_url: str, base_url: str, tokens: AccessTokens
) -> tuple[float, int, int]:
    """Block an account followed by CLEANUP_FOLLOWERS accounts whose CLEANUP_POSTS posts are in
    the blocker's cached feed; returns (seconds until the clean-up job finished and the cache
    holds none of its posts, cached entries of it before, after)."""
    author: int = await db.fetchval(
        "INSERT INTO users (username, email, password_hash) VALUES"
        " ('bench_blocked', 'bench_blocked@bench.example', '-') RETURNING id"
    )
    followers = await datagen.add_followers(db, author, CLEANUP_FOLLOWERS, prefix="cleanup_")
    blocker = followers[0]
    now = datetime.now(UTC)
    post_ids = [
        row["id"]
        for row in await db.fetch(
            """
            INSERT INTO posts (author_id, status, published_at, created_at)
            SELECT $1, 'PUBLISHED', $2::timestamptz - make_interval(mins => n),
                   $2::timestamptz - make_interval(mins => n)
              FROM generate_series(1, $3) n RETURNING id
            """,
            author,
            now,
            CLEANUP_POSTS,
        )
    ]
    await db.execute("UPDATE users SET post_count = $2 WHERE id = $1", author, CLEANUP_POSTS)
    redis = redis_client(redis_url, timeout_seconds=10)
    headers = bearer(tokens, blocker)
    async with load_client(base_url, 1) as client:
        # The blocker reads their feed: it is cached now. With 10,000 followers the author is
        # a celebrity (pulled at read time, in no cache), so their posts are put into the
        # blocker's cache here, scored as the cache scores them: the clean-up has real work.
        await post_graphql(client, FEED, {"first": 20}, headers)
        feed_key = redis_keys.feed(blocker)
        await redis.zadd(
            feed_key,
            {
                str(post_id): (now - timedelta(minutes=n + 1)).timestamp() * 1000
                for n, post_id in enumerate(post_ids)
            },
        )
        before = await _cached_of(redis, feed_key, post_ids)
        started = time.perf_counter()
        body = await post_graphql(client, BLOCK, {"id": encode_global_id("User", author)}, headers)
        assert body["data"]["blockUser"]["userErrors"] == [], body  # type: ignore[index]
        # Done when the blocker's cache holds none of the author's posts (the job's one ZREM;
        # its id carries a round the client cannot know).
        async with asyncio.timeout(60):
            while await _cached_of(redis, feed_key, post_ids):  # noqa: ASYNC110 (polled)
                await asyncio.sleep(0.005)
        seconds = time.perf_counter() - started
        after = await _cached_of(redis, feed_key, post_ids)
    await redis.aclose()
    return seconds, before, after


async def _cached_of(redis: object, key: str, post_ids: list[int]) -> int:
    members = await redis.zmscore(key, [str(p) for p in post_ids])  # type: ignore[attr-defined]
    return sum(1 for score in members if score is not None)


def side_by_side(name: str, base: LoadResult, privacy: LoadResult) -> str:
    def cells(result: LoadResult) -> str:
        return (
            f"{result.throughput:7.0f}/s  p50 {result.percentile(50):6.1f}  "
            f"p95 {result.percentile(95):6.1f}  p99 {result.percentile(99):6.1f} ms"
        )

    return f"{name:<22} baseline {cells(base)} | privacy {cells(privacy)}"


async def main(requests: int, concurrency: int, seconds: float, rounds: int) -> None:
    with services() as (database_url, redis_url, scratch):
        db = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
        assert db is not None
        print("generating the shared data set ...", flush=True)
        data = await datagen.generate(db)
        await attach_media(db)
        baseline, privacy, _ = await build_viewers(db)
        secret = secrets.token_urlsafe(32)
        tokens = AccessTokens(secret, ttl_seconds=int(timedelta(hours=1).total_seconds()))
        env = api_env(database_url, redis_url, scratch, secret) | {
            "CELEBRITY_FOLLOWER_THRESHOLD": str(data.spec.celebrity_threshold),
        }
        settings = Settings(
            database_url=database_url,
            redis_url=redis_url,
            secret_key=secret,
            data_dir=scratch / "data",
            celebrity_follower_threshold=data.spec.celebrity_threshold,
            query_budget_points=int(BENCH_SERVER_ENV["QUERY_BUDGET_POINTS"]),
            count_sql_statements=True,
        )
        headers = {baseline: bearer(tokens, baseline), privacy: bearer(tokens, privacy)}
        ratios, results = [], []
        async with api_process(env) as server, load_client(server.url, concurrency) as client:

            def feed_of(viewer: int):  # type: ignore[no-untyped-def]
                async def feed_query(_: int) -> None:
                    body = await post_graphql(client, FEED, {"first": 20}, headers[viewer])
                    assert len(body["data"]["feed"]["edges"]) == 20, body  # type: ignore[index]

                return feed_query

            for viewer in (baseline, privacy):
                await run_load(feed_of(viewer), requests=300, concurrency=concurrency)  # warm
            print(f"\nfeed (RANKED, 20 posts), one server process, concurrency {concurrency}")
            for round_number in range(1, rounds + 1):
                order = (baseline, privacy) if round_number % 2 else (privacy, baseline)
                full = {
                    viewer: await run_load(
                        feed_of(viewer), requests=requests, concurrency=concurrency
                    )
                    for viewer in order
                }
                rate = full[baseline].throughput * 0.6
                steady = {
                    viewer: await paced(
                        feed_of(viewer), rate=rate, seconds=seconds, concurrency=concurrency
                    )
                    for viewer in order
                }
                print(f"round {round_number} of {rounds}")
                print(side_by_side("throughput", full[baseline], full[privacy]))
                print(side_by_side(f"paced {rate:.0f}/s", steady[baseline], steady[privacy]))
                ratios.append(full[privacy].throughput / full[baseline].throughput)
                results.append((full, steady))
            async with worker_process(env, redis_url):
                cleanup = await block_cleanup_seconds(db, redis_url, server.url, tokens)
        print(
            f"median of {rounds} rounds: privacy/baseline throughput "
            f"{statistics.median(ratios):.3f} (target >= 0.95); p99 paced baseline "
            f"{statistics.median(s[baseline].percentile(99) for _, s in results):.1f} ms, "
            f"privacy {statistics.median(s[privacy].percentile(99) for _, s in results):.1f} ms"
        )
        statements = {
            viewer: await statements_per_request(settings, viewer, tokens)
            for viewer in (baseline, privacy)
        }
        print(
            f"SQL statements per feed request (20 posts): baseline {statements[baseline]}, "
            f"privacy {statements[privacy]} (must be equal)"
        )
        seconds_taken, before, after = cleanup
        print(
            f"block clean-up: {seconds_taken:.3f} s (target <= 2) for an account with "
            f"{CLEANUP_FOLLOWERS} followers; its posts in the blocker's cached feed: "
            f"{before} before, {after} after"
        )
        await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    asyncio.run(
        main(arguments.requests, arguments.concurrency, arguments.seconds, arguments.rounds)
    )
