"""`python -m bench.graphql_feed`: the GraphQL home-feed query over HTTP on one server process.

On the shared data set (bench.datagen) shaped like real use (attach_media: a picture or a
carousel per post, captions with hashtags, as the demo seed makes them; datagen's comments and
its celebrity and normal authors), VIEWERS distinct viewers (each following 50 or more
accounts) open the feed in turn as the README's query does: the first page of 20 posts in the
default order (RANKED) with caption, hashtags, author, counts, viewerHasLiked, media and the
first comments, with a learned model serving (trained in the setup by
services.ranker.training, what `shutter train-ranker` runs, on a generated log:
bench/graphql_feed/ranker_log.py); the same query with `order: CHRONOLOGICAL` is measured beside
it. Printed side by side: the smallest authenticated query
(`viewer { id }`, the floor of HTTP + auth + GraphQL), each order at concurrency 16
(throughput), and paced at 60% of that throughput (latency percentiles), with the
server's CPU time per feed request in the throughput phase (from /proc: what it would serve on
a core of its own, less sensitive to the other processes than req/s). This runs in several
rounds, as the machine's speed drifts within minutes: each round's figures come from
the same minute, and the medians across rounds are printed at the end. Then SQL statements per
request for pages of 5 and 20 (measured in-process on the same database), and the server's
peak resident memory.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import asyncpg
import orjson

from bench import datagen
from bench.graphql_feed.ranker_log import generate_and_train
from bench.harness import (
    BENCH_SERVER_ENV,
    CpuMeter,
    LoadResult,
    api_env,
    api_process,
    bearer,
    freeze_client_heap,
    full_collections,
    load_client,
    peak_rss_mb,
    post_graphql,
    row,
    run_load,
    services,
)
from media.images import THUMBNAIL_SIZES, WIDTH_VARIANTS
from services.tokens import AccessTokens
from settings import Settings

_NODE = """
    edges { node { id caption hashtags author { username fullName } likeCount commentCount
                   viewerHasLiked media { blurHash image(minWidth: 640) { url width height } }
                   comments(first: 3) { edges { node { text author { username } } } } } }
    pageInfo { hasNextPage endCursor }
"""
FEED = "query Feed($first: Int!) { feed(first: $first) {" + _NODE + "} }"
"""The README's home-feed query: the default order (RANKED), a first page, as apps open it."""
CHRONOLOGICAL_FEED = (
    "query Feed($first: Int!) { feed(first: $first, order: CHRONOLOGICAL) {" + _NODE + "} }"
)
ORDERS = {"RANKED": FEED, "CHRONOLOGICAL": CHRONOLOGICAL_FEED}
VIEWERS = 200
"""Distinct viewers, taking turns: each has a feed of its own (cached in Redis after its first
read, as an active user's is), affinities of its own and a page snapshot per first page."""

_VARIANT_SIZES = (
    *((str(width), width, width * 1350 // 1080) for width in WIDTH_VARIANTS),
    *((name, side, side) for name, side in THUMBNAIL_SIZES),
)
"""What the media pipeline (media.images) stores for a 1080x1350 photo: its widths and square
thumbnails (the query picks one of them)."""
_VARIANTS = orjson.dumps(
    [
        {
            "name": name,
            "key": f"media/0/{name}.jpg",
            "width": width,
            "height": height,
            "content_type": "image/jpeg",
        }
        for name, width, height in _VARIANT_SIZES
    ]
).decode()


_CAROUSEL_SIZES = [1, 1, 1, 1, 2, 3]
"""Pictures per post, drawn as the demo seed draws them (services.seed: one picture, or a
carousel of two or three)."""
_TAGS = 60
"""Distinct hashtags; each post's caption carries one to three of them, as the seed's do."""


async def attach_media(db: asyncpg.Pool) -> None:
    """Shape the posts like real use, as the demo seed does (services.seed): one READY picture
    or a carousel of two or three (each with the variants the pipeline makes of a 1080x1350
    photo; rows only, the variant URLs point nowhere), and a caption with one to three
    hashtags (post_hashtags and hashtags' counts exact). Deterministic (hash of the post id).
    Side effects: those rows, vacuumed and analyzed; a checkpoint."""
    await db.execute(
        """
        INSERT INTO media (owner_id, kind, status, declared_content_type, byte_size,
                           original_filename, width, height, blurhash, variants)
        SELECT p.author_id, 'IMAGE', 'READY', 'image/jpeg', 1000, 'post-' || p.id || '-' || n,
               1080, 1350, 'LKO2?U%2Tw=w', $1::jsonb
          FROM posts p
         CROSS JOIN LATERAL generate_series(
               0, ($2::int[])[1 + abs(hashint8(p.id)) % cardinality($2::int[])] - 1) AS n
        """,
        _VARIANTS,
        _CAROUSEL_SIZES,
    )
    await db.execute(
        """
        INSERT INTO post_media (post_id, position, media_id)
        SELECT split_part(m.original_filename, '-', 2)::bigint,
               split_part(m.original_filename, '-', 3)::int, m.id
          FROM media m
        """
    )
    await db.execute(
        "INSERT INTO hashtags (name) SELECT 'tag' || n FROM generate_series(0, $1 - 1) n", _TAGS
    )
    await db.execute(
        """
        INSERT INTO post_hashtags (post_id, hashtag_id, published_at, engagement)
        SELECT DISTINCT p.id, h.id, p.published_at, p.like_count + 2 * p.comment_count
          FROM posts p
         CROSS JOIN LATERAL generate_series(0, abs(hashint8(p.id)) % 3) AS k
          JOIN hashtags h ON h.name = 'tag' || abs(hashint8(p.id * 7 + k)) % $1
        """,
        _TAGS,
    )
    await db.execute(
        """
        UPDATE posts p SET caption = 'A day out ' || tags.text
          FROM (SELECT ph.post_id, string_agg('#' || h.name, ' ') AS text
                  FROM post_hashtags ph JOIN hashtags h ON h.id = ph.hashtag_id
                 GROUP BY ph.post_id) tags
         WHERE tags.post_id = p.id
        """
    )
    await db.execute(
        """
        UPDATE hashtags h SET post_count = c.n
          FROM (SELECT hashtag_id, count(*) AS n FROM post_hashtags GROUP BY hashtag_id) c
         WHERE c.hashtag_id = h.id
        """
    )
    # As bench.datagen does for its tables: statistics and the visibility map (what autovacuum
    # would have done long ago), and the bulk load's pages written out, so that neither
    # autovacuum nor the first reads' hint-bit writes land in the measurements.
    for table in ("media", "post_media", "hashtags", "post_hashtags", "posts"):
        await db.execute(f"VACUUM (ANALYZE) {table}")
    await db.execute("CHECKPOINT")


async def viewers_of(db: asyncpg.Pool, count: int) -> list[int]:
    """`count` users following at least 50 accounts (a full first page each), spread over
    the data set deterministically (hash of the id), the bench.datagen viewer of ~200 first."""
    found: list[int] = [
        row["id"]
        for row in await db.fetch(
            "SELECT id FROM users WHERE following_count >= 50 ORDER BY hashint8(id) LIMIT $1",
            count,
        )
    ]
    return found


async def service_pids(db: asyncpg.Pool, redis_url: str) -> dict[str, int]:
    """The PostgreSQL server's main process (its backends are its children) and Redis's."""
    from redis.asyncio import Redis

    data_directory = await db.fetchval("SHOW data_directory")
    postmaster = int((Path(data_directory) / "postmaster.pid").read_text().split()[0])
    async with Redis.from_url(redis_url) as redis:
        valkey = int((await redis.info("server"))["process_id"])
    return {"PostgreSQL": postmaster, "Redis": valkey}


async def paced(
    send: Callable[[int], Awaitable[None]], *, rate: float, seconds: float, concurrency: int
) -> LoadResult:
    """Open-loop load: requests start at `rate` per second (not when the previous finished)."""
    latencies: list[float] = []
    slots = asyncio.Semaphore(concurrency)
    total = int(rate * seconds)

    async def one(index: int) -> None:
        async with slots:
            started = time.perf_counter()
            await send(index)
            latencies.append((time.perf_counter() - started) * 1000)

    tasks = []
    began = time.perf_counter()
    for index in range(total):
        delay = began + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(index)))
    await asyncio.gather(*tasks)
    return LoadResult(total, time.perf_counter() - began, latencies)


async def statements_per_request(
    settings: Settings, viewer_id: int, tokens: AccessTokens
) -> dict[tuple[str, int], int]:
    """SQL statements of one warm feed request, per page size (in-process app, same database)."""
    import httpx

    from app import create_app

    app = create_app(settings)
    counts: dict[tuple[str, int], int] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        headers = bearer(tokens, viewer_id)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for order, query in ORDERS.items():
                for first in (20, 5, 20):
                    before = app.state.resources.sql_statements.count
                    await client.post(
                        "/graphql",
                        json={"query": query, "variables": {"first": first}},
                        headers=headers,
                    )
                    counts[order, first] = app.state.resources.sql_statements.count - before
    return counts


async def main(requests: int, concurrency: int, seconds: float, rounds: int, workers: int) -> None:
    with services() as (database_url, redis_url, scratch):
        db = await asyncpg.create_pool(database_url, min_size=1, max_size=4)
        assert db is not None
        print("generating the shared data set ...", flush=True)
        data = await datagen.generate(db)
        await attach_media(db)
        viewer_id = data.viewers[200]
        viewer_ids = [viewer_id, *(v for v in await viewers_of(db, VIEWERS) if v != viewer_id)]
        viewer_ids = viewer_ids[:VIEWERS]
        print("training the ranker on a generated log ...", flush=True)
        model_version = await generate_and_train(db, viewer_ids, data.spec.now)
        secret = secrets.token_urlsafe(32)
        tokens = AccessTokens(secret, ttl_seconds=int(timedelta(hours=1).total_seconds()))
        headers = bearer(tokens, viewer_id)
        viewer_headers = [bearer(tokens, viewer) for viewer in viewer_ids]
        env = api_env(database_url, redis_url, scratch, secret) | {
            "CELEBRITY_FOLLOWER_THRESHOLD": str(data.spec.celebrity_threshold),
            "WEB_CONCURRENCY": str(workers),
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
        freeze_client_heap()  # the data set it generated
        async with api_process(env) as server, load_client(server.url, concurrency) as client:
            meter = CpuMeter({"server": server.pid, **await service_pids(db, redis_url)})

            async def viewer_query(_: int) -> None:
                await post_graphql(client, "{ viewer { id } }", {}, headers)

            def feed_query(query: str) -> Callable[[int], Awaitable[None]]:
                async def send(index: int) -> None:
                    as_viewer = viewer_headers[index % len(viewer_headers)]
                    body = await post_graphql(client, query, {"first": 20}, as_viewer)
                    assert len(body["data"]["feed"]["edges"]) == 20, body  # type: ignore[index]

                return send

            for query in ORDERS.values():  # warm: every viewer's feed cached, as when active
                await run_load(feed_query(query), requests=2 * VIEWERS, concurrency=concurrency)
            print(
                f"\nGraphQL over HTTP, `shutter serve --workers {workers}`, concurrency "
                f"{concurrency}, {len(viewer_ids)} viewers in turn, RANKED by model "
                f"{model_version} (trained in this run)"
            )
            figures: dict[str, tuple[list[float], list[float], list[float]]] = {
                order: ([], [], []) for order in ORDERS
            }
            for round_number in range(1, rounds + 1):
                print(f"round {round_number} of {rounds}")
                floor = await run_load(viewer_query, requests=requests, concurrency=concurrency)
                print(row("viewer { id } (floor)", floor))
                for order, query in ORDERS.items():
                    send = feed_query(query)
                    meter.start()
                    full = await run_load(send, requests=requests, concurrency=concurrency)
                    shares = meter.shares(full.requests)
                    cpu_ms = shares.per_request_ms["server"]
                    rate = full.throughput * 0.6
                    collections_before = await full_collections(client, server.url)
                    steady = await paced(send, rate=rate, seconds=seconds, concurrency=concurrency)
                    collections_after = await full_collections(client, server.url)
                    print(row(f"{order}, 20 posts (throughput)", full))
                    print(row(f"{order} at 60% ({rate:.0f}/s, paced)", steady))
                    print(
                        f"server CPU per {order} request (throughput): {cpu_ms:.2f} ms, "
                        f"{1000 / cpu_ms:.0f} req/s if it had a whole core"
                    )
                    print(f"  CPU ms per request, by process: {shares.line()}")
                    if collections_before is not None and collections_after is not None:
                        print(
                            "full garbage collections in the server while paced: "
                            f"{collections_after - collections_before}"
                        )
                    figures[order][0].append(full.throughput)
                    figures[order][1].append(steady.percentile(99))
                    figures[order][2].append(cpu_ms)
            rss = peak_rss_mb(server.pid)
        for order, (throughputs, p99s, cpu_per_request) in figures.items():
            print(
                f"median of {rounds} rounds, {order}: {statistics.median(throughputs):.0f}/s "
                f"(target >= 300), p99 at 60% {statistics.median(p99s):.1f} ms (target <= 30), "
                f"server CPU {statistics.median(cpu_per_request):.2f} ms per request"
            )
        print(
            "peak resident memory of the server: "
            + ", ".join(f"{pid}: {mb:.0f} MB" for pid, mb in rss.items())
        )
        statements = await statements_per_request(settings, viewer_id, tokens)
        for order in ORDERS:
            print(
                f"SQL statements per {order} first page: of 5: {statements[order, 5]}, "
                f"of 20: {statements[order, 20]}"
            )
        await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--workers", type=int, default=1, help="server processes (WEB_CONCURRENCY of shutter serve)"
    )
    arguments = parser.parse_args()
    asyncio.run(
        main(
            arguments.requests,
            arguments.concurrency,
            arguments.seconds,
            arguments.rounds,
            arguments.workers,
        )
    )
