"""Search and discovery latency on the shared data set (bench.datagen: 10k users, 200k posts),
with captions, hashtags and full names added here: p50/p99 of caption search, user prefix
search, hashtag pages (TOP, RECENT) and explore pages, on PostgreSQL, one request at a time.

    python -m bench.search [--queries 400]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
from redis.asyncio import Redis

from bench.datagen import generate
from bench.harness import percentile, services
from services import explore, hashtag_pages, search
from services.explore import ExploreDeps
from services.hashtag_pages import HashtagOrder
from services.hashtags import parse_hashtags
from storage.pg import create_pool
from storage.search.postgres import PostgresSearch

COMMON = [
    "sunset",
    "beach",
    "coffee",
    "morning",
    "running",
    "friends",
    "family",
    "summer",
    "city",
    "travel",
    "food",
    "love",
    "happy",
    "weekend",
    "mountain",
    "river",
    "dinner",
    "party",
    "music",
    "dog",
    "cat",
    "garden",
    "flowers",
    "rain",
    "snow",
    "winter",
    "light",
]
FIRST = [
    "anna",
    "ben",
    "carla",
    "david",
    "emma",
    "felix",
    "grace",
    "henry",
    "iris",
    "jack",
    "kate",
    "leo",
    "mia",
    "noah",
    "olga",
    "paul",
]
LAST = [
    "smith",
    "jones",
    "garcia",
    "miller",
    "davis",
    "wilson",
    "moore",
    "taylor",
    "anderson",
    "thomas",
    "martin",
    "lee",
]


_CUMULATIVE: dict[tuple[int, float], list[float]] = {}


def zipf_pick(rng: random.Random, items: list[str], s: float = 1.1) -> str:
    cumulative = _CUMULATIVE.get((len(items), s))
    if cumulative is None:
        weights = [1 / (rank + 1) ** s for rank in range(len(items))]
        cumulative = _CUMULATIVE[len(items), s] = list(itertools.accumulate(weights))
    return rng.choices(items, cum_weights=cumulative)[0]


def vocabulary(rng: random.Random, size: int) -> list[str]:
    syllables = [
        "ka",
        "lo",
        "mi",
        "ra",
        "te",
        "su",
        "no",
        "pa",
        "ve",
        "di",
        "bo",
        "ne",
        "shi",
        "ru",
        "ta",
        "ge",
        "lu",
        "fa",
        "zo",
    ]
    words = set(COMMON)
    while len(words) < size:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return COMMON + sorted(words - set(COMMON))


async def add_text(pool: asyncpg.Pool, rng: random.Random, user_ids: list[int]) -> list[str]:
    """Captions (5-15 words, 0-3 tags), hashtags with exact counts, full names. Returns tags."""
    words = vocabulary(rng, 3000)
    tags = [f"{zipf_pick(rng, words)}{rng.randint(0, 99)}" for _ in range(2000)]
    tags = list(dict.fromkeys(COMMON + tags))
    started = time.perf_counter()
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT id, published_at, like_count + 2 * comment_count AS engagement"
            " FROM posts ORDER BY id"
        )
        captions = []
        for row in rows:
            text = " ".join(zipf_pick(rng, words) for _ in range(rng.randint(5, 15)))
            text += "".join(f" #{zipf_pick(rng, tags)}" for _ in range(rng.randint(0, 3)))
            captions.append((row["id"], text))
        await conn.execute("CREATE TEMP TABLE captions (id bigint, caption text)")
        await conn.copy_records_to_table("captions", records=captions)
        await conn.execute(
            "UPDATE posts p SET caption = c.caption FROM captions c WHERE c.id = p.id"
        )
        names = [(uid, f"{rng.choice(FIRST)} {rng.choice(LAST)}") for uid in user_ids]
        await conn.execute("CREATE TEMP TABLE names (id bigint, full_name text)")
        await conn.copy_records_to_table("names", records=names)
        await conn.execute(
            "UPDATE users u SET full_name = n.full_name FROM names n WHERE n.id = u.id"
        )
        published = {row["id"]: row["published_at"] for row in rows}
        engagement = {row["id"]: row["engagement"] for row in rows}
        tagged = [(pid, name) for pid, text in captions for name in parse_hashtags(text)]
        counts: dict[str, int] = {}
        for _, name in tagged:
            counts[name] = counts.get(name, 0) + 1
        await conn.copy_records_to_table(
            "hashtags", records=list(counts.items()), columns=["name", "post_count"]
        )
        ids = {r["name"]: r["id"] for r in await conn.fetch("SELECT id, name FROM hashtags")}
        await conn.copy_records_to_table(
            "post_hashtags",
            records=[(pid, ids[name], published[pid], engagement[pid]) for pid, name in tagged],
            columns=["post_id", "hashtag_id", "published_at", "engagement"],
        )
        # As bench.datagen does: statistics, and the visibility map autovacuum would have set.
        for table in ("posts", "post_hashtags"):
            await conn.execute(f"VACUUM (ANALYZE) {table}")
        for table in ("users", "hashtags"):
            await conn.execute(f"ANALYZE {table}")
    print(f"captions, tags, names: {time.perf_counter() - started:.1f} s")
    return sorted(counts, key=lambda name: -counts[name])


async def measure(
    label: str, n: int, call: Callable[[int], Awaitable[object]]
) -> tuple[str, float, float, float]:
    for i in range(min(20, n)):  # warm-up: plans, caches
        await call(i)
    timings = []
    for i in range(n):
        started = time.perf_counter()
        await call(i)
        timings.append((time.perf_counter() - started) * 1000)
    return label, percentile(timings, 50), percentile(timings, 99), max(timings)


async def main(queries: int) -> None:
    rng = random.Random(6)
    with services() as (database_url, redis_url, _):
        pool = await create_pool(database_url, min_size=2, max_size=4)
        redis = Redis.from_url(redis_url)
        try:
            data = await generate(pool)
            print(f"data set: {data.post_count} posts, {len(data.user_ids)} users")
            tags = await add_text(pool, rng, data.user_ids)
            backend = PostgresSearch(pool)
            words = vocabulary(random.Random(6), 3000)
            caption_queries = [
                " ".join(zipf_pick(rng, words) for _ in range(rng.randint(1, 2)))
                for _ in range(queries)
            ]
            prefixes = [
                rng.choice(
                    [
                        f"u{rng.randint(1, 9999)}",
                        rng.choice(FIRST)[:3],
                        rng.choice(LAST)[:2],
                        f"{rng.choice(FIRST)} {rng.choice(LAST)[:1]}",
                    ]
                )
                for _ in range(queries)
            ]
            tag_ids = []
            for name in [zipf_pick(rng, tags[:500], 0.8) for _ in range(queries)]:
                found = await hashtag_pages.fetch_hashtag(pool, name)
                assert found is not None
                tag_ids.append(found.id)
            now = datetime.now(UTC)
            explore_deps = ExploreDeps(pool, redis)
            viewers = [None, *data.viewers.values()]
            rows = [
                await measure(
                    "caption search (20)",
                    queries,
                    lambda i: search.search_posts(
                        pool, backend, caption_queries[i], first=20, after=None
                    ),
                ),
                await measure(
                    "user + tag prefix (20)",
                    queries,
                    lambda i: search.search_people_and_tags(pool, backend, prefixes[i], first=20),
                ),
                await measure(
                    "hashtag TOP page (20)",
                    queries,
                    lambda i: hashtag_pages.list_hashtag_posts(
                        pool, tag_ids[i], order=HashtagOrder.TOP, first=20, after=None, now=now
                    ),
                ),
                await measure(
                    "hashtag RECENT page (20)",
                    queries,
                    lambda i: hashtag_pages.list_hashtag_posts(
                        pool, tag_ids[i], order=HashtagOrder.RECENT, first=20, after=None, now=now
                    ),
                ),
                await measure(
                    "explore first page (30)",
                    queries // 4,
                    lambda i: explore.read_explore(
                        explore_deps, viewers[i % len(viewers)], first=30, after=None, now=now
                    ),
                ),
            ]
            first_page = await explore.read_explore(
                explore_deps, None, first=30, after=None, now=now
            )
            cursor = first_page.edges[-1][0]
            rows.append(
                await measure(
                    "explore next page (30)",
                    queries,
                    lambda i: explore.read_explore(
                        explore_deps, None, first=30, after=cursor, now=now
                    ),
                )
            )
            print(f"\n{'operation':<26}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}")
            for label, p50, p99, worst in rows:
                print(f"{label:<26}{p50:>9.2f}{p99:>9.2f}{worst:>9.2f}")
        finally:
            await redis.aclose()
            await pool.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=400)
    asyncio.run(main(parser.parse_args().queries))
