"""`python -m bench.feed`: home-feed assembly and fan-out, each against its baseline, side by side.

1. Feed reads (no GraphQL) for viewers following 10, 200 and 2,000 accounts, first page of 20,
   interleaved: the assembly of the page's post ids (the hybrid feed: cached entries + followed
   celebrities + own posts, checked against PostgreSQL) against the pull-model query alone;
   then the whole page with what its posts show (services.feed.read_feed, which reads the
   posts in its candidate query) against the pull query followed by the posts' query.
2. Fan-out of one post to 100k followers with live feeds: one server-side script call per
   batch of 1,000 (services.feed.fan_out_post) against a client-side pipeline per batch.

Uses DATABASE_URL / REDIS_URL when set (the data set is loaded into that database: give it an
empty one), else throwaway embedded servers on loopback. Stops by itself in a few minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import uvloop
from arq.connections import ArqRedis, RedisSettings, create_pool

from bench import datagen
from bench.harness import percentile, services
from services import feed
from services.feed import FeedConfig, FeedDeps, FeedOrder
from services.feed.chronological import collect_chronological
from storage import redis_keys
from storage.feed import cache as feeds
from storage.feed import sql as feed_store
from storage.micros import micros_of
from storage.pg import QueryCounter
from storage.pg import create_pool as create_pg_pool
from storage.pg.post_views import fetch_post_views

PAGE = 20


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _stats(values: list[float]) -> str:
    return " ".join(f"{percentile(values, p):6.2f}" for p in (50, 95, 99))


async def _timed(call: Callable[[int], Awaitable[object]], viewer: int) -> float:
    started = time.perf_counter()
    await call(viewer)
    return _ms(started)


async def bench_reads(deps: FeedDeps, data: datagen.Dataset, reads: int, sql: QueryCounter) -> None:
    blocks = 10
    print(
        f"\nfeed reads, first page of {PAGE} (ms: p50 p95 p99), {reads} reads per viewer and "
        f"model, in {blocks} alternating blocks of each model (each block visits the viewers in "
        "turn; a heavy pull query slows the next ~ms of PostgreSQL work, so models are not mixed "
        "read by read)"
    )
    viewers = sorted(data.viewers.items())

    async def hybrid_ids(viewer: int) -> object:
        return await collect_chronological(deps, viewer, before=None, limit=PAGE + 1)

    async def pull_ids(viewer: int) -> object:
        return await feed_store.fetch_pull_feed(deps.db, viewer, before=None, limit=PAGE + 1)

    async def hybrid_page(viewer: int) -> object:
        return await feed.read_feed(
            deps, viewer, first=PAGE, after=None, order=FeedOrder.CHRONOLOGICAL
        )

    async def pull_page(viewer: int) -> object:
        posts = await feed_store.fetch_pull_feed(deps.db, viewer, before=None, limit=PAGE + 1)
        return await fetch_post_views(deps.db, [post.id for post in posts[:PAGE]], viewer)

    models: dict[str, Callable[[int], Awaitable[object]]] = {
        "hybrid ids": hybrid_ids,
        "pull ids": pull_ids,
        "hybrid page": hybrid_page,
        "pull page": pull_page,
    }
    rebuild: dict[int, float] = {}
    for _, viewer in viewers:
        await deps.redis.delete(redis_keys.feed(viewer))
        rebuild[viewer] = await _timed(hybrid_page, viewer)
    for _ in range(20):  # warm-up: plans, buffers
        for _, viewer in viewers:
            for call in models.values():
                await call(viewer)
    timings: dict[str, dict[int, list[float]]] = {name: {} for name in models}
    statements = dict.fromkeys(models, 0)
    for _ in range(blocks):
        for name, call in models.items():
            before = sql.count
            for _ in range(reads // blocks):
                for _, viewer in viewers:
                    timings[name].setdefault(viewer, []).append(await _timed(call, viewer))
            statements[name] += sql.count - before
    per_read = {
        name: count / (reads // blocks * blocks * len(viewers))
        for name, count in statements.items()
    }
    p50 = {name: {v: percentile(ms, 50) for v, ms in by.items()} for name, by in timings.items()}
    (low, low_viewer), (high, high_viewer) = viewers[0], viewers[-1]

    for level, what in (
        ("ids", "assembly: the page's post ids (services.feed.chronological against the pull "
         "query)"),
        ("page", "the page with what its posts show (services.feed.read_feed: views read in "
         "the candidate query; pull: its query, then the views)"),
    ):  # fmt: skip
        hybrid, pull = f"hybrid {level}", f"pull {level}"
        print(f"\n{what}")
        print(
            f"{'follows':>7} {'celebs':>6} {'rebuild':>8} | {'hybrid p50    p95    p99':>24} | "
            f"{'pull p50    p95    p99':>22} | {'pull/hybrid':>11}"
        )
        for following, viewer in viewers:
            celebs = await feed_store.fetch_celebrity_followees(
                deps.db, viewer, deps.config.celebrity_follower_threshold
            )
            print(
                f"{following:>7} {len(celebs):>6} {rebuild[viewer]:>8.1f} | "
                f"{_stats(timings[hybrid][viewer]):>24} | {_stats(timings[pull][viewer]):>22} | "
                f"{p50[pull][viewer] / p50[hybrid][viewer]:>10.1f}x"
            )
        print(
            f"SQL statements per read: hybrid {per_read[hybrid]:.1f}, pull {per_read[pull]:.1f}; "
            f"hybrid p50 at {high:,} follows / at {low:,}: "
            f"{p50[hybrid][high_viewer] / p50[hybrid][low_viewer]:.2f}x (target <= 1.5x); "
            f"pull / hybrid at {high:,}: {p50[pull][high_viewer] / p50[hybrid][high_viewer]:.1f}x"
            + (" (target >= 10x)" if level == "ids" else "")
        )
    await bench_ranked(deps, data, max(10, reads // 5))


async def bench_ranked(deps: FeedDeps, data: datagen.Dataset, reads: int) -> None:
    print(
        f"\nRANKED (window {deps.config.ranked_window}), ms p50 p95 p99, {reads} reads: "
        "first page (rank + snapshot) | next page (from the snapshot)"
    )
    for following, viewer in sorted(data.viewers.items()):
        first_ms: list[float] = []
        next_ms: list[float] = []
        for _ in range(reads):
            started = time.perf_counter()
            page = await feed.read_feed(
                deps, viewer, first=PAGE, after=None, order=FeedOrder.RANKED
            )
            first_ms.append(_ms(started))
            started = time.perf_counter()
            await feed.read_feed(
                deps, viewer, first=PAGE, after=page.edges[-1][0], order=FeedOrder.RANKED
            )
            next_ms.append(_ms(started))
        print(f"{following:>7} follows: {_stats(first_ms)} | {_stats(next_ms)}")


async def _new_post(db: asyncpg.Pool, author_id: int) -> int:
    post_id: int = await db.fetchval(
        "INSERT INTO posts (author_id, status, published_at) VALUES ($1, 'PUBLISHED', now()) "
        "RETURNING id",
        author_id,
    )
    return post_id


async def _pipeline_fan_out(
    deps: FeedDeps, author_id: int, post_id: int, published_at: datetime
) -> int:
    """Baseline: per batch, a client-side pipeline of ZADD + trim per follower (and no
    existence check, which would cost another round trip)."""
    score = feeds.score_of(micros_of(published_at))
    inserted = 0
    after = 0
    while True:
        ids = await feed_store.fetch_follower_ids(
            deps.db, author_id, after=after, until=None, limit=deps.config.fan_out_batch_size
        )
        if not ids:
            return inserted
        async with deps.redis.pipeline(transaction=False) as pipe:
            for user_id in ids:
                key = redis_keys.feed(user_id)
                pipe.zadd(key, {str(post_id): score})
                pipe.zremrangebyrank(key, 0, -(deps.config.max_entries + 1))
            results = await pipe.execute()
        inserted += sum(results[0::2])
        after = ids[-1]


async def bench_fan_out(
    db: asyncpg.Pool, redis: ArqRedis, data: datagen.Dataset, followers: int, rounds: int
) -> None:
    author = data.viewers[10]
    print(f"\nfan-out of one post to {followers:,} followers with live feeds, {rounds} rounds")
    started = time.perf_counter()
    fans = await datagen.add_followers(db, author, followers, prefix="fan")
    recent = await feed_store.fetch_pull_feed(db, data.viewers[200], before=None, limit=10)
    for start in range(0, len(fans), 1000):
        await feeds.create_live_feeds(
            redis,
            fans[start : start + 1000],
            [post.key for post in recent],
            horizon_micros=recent[-1].key[0] - 1,
            max_entries=800,
            ttl_seconds=3600,
        )
    print(f"setup ({followers:,} users, follows and live feeds): {_ms(started) / 1000:.1f} s")
    # The author is far above any celebrity threshold here: lift it to measure fan-out.
    deps = FeedDeps(db, redis, FeedConfig(celebrity_follower_threshold=10**9), run_jobs_inline=True)
    script_runs: list[tuple[float, int]] = []
    pipeline_runs: list[tuple[float, int]] = []
    last_script_post = 0
    for _ in range(rounds):
        post = last_script_post = await _new_post(db, author)
        started = time.perf_counter()
        result = await feed.fan_out_post(deps, post)
        script_runs.append((_ms(started), result.inserted))
        post = await _new_post(db, author)
        (state,) = await feed_store.fetch_post_states(db, [post])
        assert state.published_at is not None
        started = time.perf_counter()
        inserted = await _pipeline_fan_out(deps, author, post, state.published_at)
        pipeline_runs.append((_ms(started), inserted))
    for name, runs in (("script per batch", script_runs), ("client pipeline", pipeline_runs)):
        ms = statistics.median(run[0] for run in runs)
        inserted = runs[0][1]
        print(
            f"{name:<17} median {ms:7.0f} ms for {inserted:,} inserts: "
            f"{inserted / ms * 1000:>9,.0f} inserts/s"
        )
    sample = fans[:: max(1, len(fans) // 1000)]
    async with redis.pipeline(transaction=False) as pipe:
        for user_id in sample:
            pipe.zscore(redis_keys.feed(user_id), str(last_script_post))
        present = sum(score is not None for score in await pipe.execute())
    print(f"check: the last script-fanned post is in {present}/{len(sample)} sampled feeds")


async def main(reads: int, followers: int, rounds: int) -> None:
    with services() as (database_url, redis_url, _scratch):
        sql = QueryCounter()
        db = await create_pg_pool(database_url, min_size=2, max_size=4, counter=sql)
        redis = await create_pool(RedisSettings.from_dsn(redis_url))
        try:
            spec = datagen.DataSpec(now=datetime.now(UTC))
            data = await datagen.generate(db, spec)
            print(
                f"data set: {spec.users:,} users, {sum(data.follower_counts.values()):,} follows, "
                f"{data.post_count:,} posts, {spec.likes:,} likes, {spec.comments:,} comments, "
                f"{len(data.celebrities)} celebrities (>= {spec.celebrity_threshold:,} "
                f"followers), loaded in {sum(data.seconds.values()):.1f} s ("
                + ", ".join(f"{name} {seconds:.1f}" for name, seconds in data.seconds.items())
                + ")"
            )
            deps = FeedDeps(
                db, redis, FeedConfig(celebrity_follower_threshold=spec.celebrity_threshold)
            )
            await bench_reads(deps, data, reads, sql)
            await bench_fan_out(db, redis, data, followers, rounds)
        finally:
            await redis.aclose()
            await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.feed", description=__doc__)
    parser.add_argument("--reads", type=int, default=300, help="timed reads per viewer")
    parser.add_argument("--followers", type=int, default=100_000, help="fan-out followers")
    parser.add_argument("--rounds", type=int, default=3, help="fan-out rounds per method")
    arguments = parser.parse_args()
    # The API and the workers run on uvloop (cli.py): measure the services on it too.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main(arguments.reads, arguments.followers, arguments.rounds))
