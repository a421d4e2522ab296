"""`python -m bench.likes`: likePost over HTTP on one server process at concurrency 32.

Prints likes/s and latency percentiles for the smallest authenticated query (`viewer { id }`,
the floor of HTTP + auth + GraphQL on this machine at this moment: the same-run baseline), for
fresh likes, for repeated likes (already liked: the primary key turns them away inside
PostgreSQL) and for the same number of unlikes, checks that every count is exact after the
flush, and measures whether turning repeated likes away in Redis first would pay (one SISMEMBER
against one INSERT ... ON CONFLICT DO NOTHING).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import time

import asyncpg
from redis.asyncio import Redis

from bench.harness import (
    api_env,
    api_server,
    bearer,
    freeze_client_heap,
    load_client,
    percentile,
    post_graphql,
    row,
    run_load,
    services,
)
from schema.global_ids import encode_global_id
from services import likes
from services.tokens import AccessTokens
from storage import counters

LIKE = (
    "mutation L($id: ID!) { likePost(input: {postId: $id}) { post { likeCount }"
    " userErrors { code } } }"
)
UNLIKE = (
    "mutation U($id: ID!) { unlikePost(input: {postId: $id}) { post { likeCount }"
    " userErrors { code } } }"
)


async def seed(db: asyncpg.Pool, redis: Redis, *, users: int, posts: int) -> list[int]:
    """Users and published posts (rows only: no media files are needed to like a post)."""
    await db.copy_records_to_table(
        "users",
        records=[(f"user{i}", f"user{i}@example.com", "bench") for i in range(users)],
        columns=["username", "email", "password_hash"],
    )
    post_ids: list[int] = [
        await db.fetchval(
            "INSERT INTO posts (author_id, status, published_at) VALUES (1, 'PUBLISHED', now()) "
            "RETURNING id"
        )
        for _ in range(posts)
    ]
    for post_id in post_ids:
        await counters.start_like_count(redis, post_id)
    return post_ids


async def micro_repeat_check(db: asyncpg.Pool, redis: Redis, post_id: int, rounds: int) -> None:
    await db.execute(
        "INSERT INTO likes (post_id, user_id) VALUES ($1, 2) ON CONFLICT DO NOTHING", post_id
    )
    await redis.sadd("bench:liked", f"{post_id}:2")  # type: ignore[misc]
    timings: dict[str, list[float]] = {"postgres": [], "redis": []}
    for _ in range(rounds):
        started = time.perf_counter()
        await db.execute(
            "INSERT INTO likes (post_id, user_id) VALUES ($1, 2) ON CONFLICT DO NOTHING", post_id
        )
        timings["postgres"].append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        await redis.sismember("bench:liked", f"{post_id}:2")  # type: ignore[misc]
        timings["redis"].append((time.perf_counter() - started) * 1000)
    print("\nturning a repeated like away (one call, sequential, ms):")
    for name, values in timings.items():
        print(f"  {name:<9} p50 {percentile(values, 50):.3f}  p99 {percentile(values, 99):.3f}")


async def main(requests: int, concurrency: int) -> None:
    with services() as (database_url, redis_url, scratch):
        db = await asyncpg.create_pool(database_url, min_size=2, max_size=4)
        redis = Redis.from_url(redis_url)
        assert db is not None
        user_count = max(concurrency * 8, requests // 10)
        post_ids = await seed(db, redis, users=user_count, posts=50)
        secret = secrets.token_urlsafe(32)
        tokens = AccessTokens(secret, ttl_seconds=900)
        user_ids = [row["id"] for row in await db.fetch("SELECT id FROM users ORDER BY id")]
        headers = [bearer(tokens, user_id) for user_id in user_ids]
        # Each request likes a distinct (user, post) pair: every fresh like is a real insert.
        pairs = random.Random(5).sample(
            [(u, p) for u in range(len(user_ids)) for p in range(len(post_ids))], requests
        )
        env = api_env(database_url, redis_url, scratch, secret)
        freeze_client_heap()
        async with api_server(env) as base_url, load_client(base_url, concurrency) as client:

            def sender(document: str):  # type: ignore[no-untyped-def]
                async def send(index: int) -> None:
                    user, post = pairs[index]
                    variables = {"id": encode_global_id("Post", post_ids[post])}
                    await post_graphql(client, document, variables, headers[user])

                return send

            async def warm_up(index: int) -> None:
                await post_graphql(client, "{ viewer { id } }", {}, headers[index % len(headers)])

            await run_load(warm_up, requests=1000, concurrency=concurrency)
            floor = await run_load(warm_up, requests=requests, concurrency=concurrency)
            print(
                f"likePost over HTTP, one server process, concurrency {concurrency}, "
                f"{requests} requests"
            )
            print(row("viewer { id } (floor)", floor))
            print(
                row(
                    "fresh likes",
                    await run_load(sender(LIKE), requests=requests, concurrency=concurrency),
                )
            )
            print(
                row(
                    "repeated likes (no-ops)",
                    await run_load(sender(LIKE), requests=requests, concurrency=concurrency),
                )
            )
            exact_before = await db.fetchval("SELECT count(*) FROM likes")
            print(
                row(
                    "unlikes",
                    await run_load(sender(UNLIKE), requests=requests // 2, concurrency=concurrency),
                )
            )

        flushed = await likes.flush_like_counts(db, redis)
        mismatches = await db.fetchval(
            "SELECT count(*) FROM posts p WHERE like_count <> "
            "(SELECT count(*) FROM likes l WHERE l.post_id = p.id)"
        )
        live = await likes.like_counts(db, redis, post_ids)
        table = await db.fetch("SELECT post_id, count(*) FROM likes GROUP BY post_id")
        by_post = {r["post_id"]: r["count"] for r in table}
        live_ok = all(live[i] == by_post.get(post_id, 0) for i, post_id in enumerate(post_ids))
        print(
            f"\nafter the load: {exact_before} likes before the unlikes; flushed {flushed} posts; "
            f"posts.like_count mismatches: {mismatches}; Redis counters exact: {live_ok}"
        )
        await micro_repeat_check(db, redis, post_ids[0], rounds=2000)
        await redis.aclose()
        await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=32)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.requests, arguments.concurrency))
