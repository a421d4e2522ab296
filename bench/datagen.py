"""The shared benchmark data set: users with a power-law (Zipf-like) follower distribution and a
few celebrities, published posts over the last weeks, likes and comments. Deterministic for a
seed; bulk-loaded with COPY (about 10k users, 500k follows, 200k posts in well under a minute).

    spec = DataSpec()                       # the defaults are the shared data set
    data = await generate(pool, spec)       # into an empty, migrated database
    data.viewers[2000]                      # a user following ~2,000 accounts

Counters on users and posts (follower_count, following_count, post_count, like_count,
comment_count) are exact for the rows written. Passwords are not real hashes: nobody can sign
in as these users through the API (benchmarks issue tokens directly).
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg

VIEWER_FOLLOWING = (10, 200, 2000)
"""The follow counts of the designated viewers (see Dataset.viewers)."""


@dataclass(frozen=True)
class DataSpec:
    users: int = 10_000
    posts: int = 200_000
    likes: int = 200_000
    comments: int = 50_000
    zipf_exponent: float = 1.0
    """Popularity of the user at rank r is 1 / (r + 1) ** exponent."""
    median_following: int = 15
    celebrity_threshold: int = 2_500
    """10k users cannot give anyone 10k followers: benchmarks on this data set use this
    threshold, which a handful of users exceed."""
    days: int = 30
    """Posts are published over this many days before `now`."""
    seed: int = 20250301
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class Dataset:
    spec: DataSpec
    user_ids: list[int]
    """In popularity order: user_ids[0] has the most followers."""
    follower_counts: dict[int, int]
    celebrities: list[int]
    """Users with at least spec.celebrity_threshold followers, most followed first."""
    viewers: dict[int, int]
    """Follow count (10, 200, 2000) -> a user following exactly that many accounts."""
    post_count: int
    seconds: dict[str, float]
    """How long each phase took: "generate" (Python), then one entry per table loaded."""


class _Sampler:
    """Weighted sampling of user indexes (popularity), deterministic for a Random."""

    def __init__(self, weights: Sequence[float]) -> None:
        self.cumulative = list(itertools.accumulate(weights))

    def draw(self, rng: random.Random) -> int:
        return bisect.bisect_left(self.cumulative, rng.random() * self.cumulative[-1])

    def distinct(self, rng: random.Random, count: int, *, exclude: int) -> list[int]:
        chosen: set[int] = set()
        count = min(count, len(self.cumulative) - 1)
        while len(chosen) < count:
            index = self.draw(rng)
            if index != exclude:
                chosen.add(index)
        return sorted(chosen)


def _following_count(rng: random.Random, spec: DataSpec) -> int:
    """Log-normal: most users follow a few dozen accounts, a few follow thousands."""
    return max(1, min(int(rng.lognormvariate(0, 1.1) * spec.median_following), spec.users // 3))


async def generate(db: asyncpg.Pool, spec: DataSpec | None = None) -> Dataset:
    """Generate and COPY the data set into an empty, migrated database.

    Side effects: rows in users, follows, posts, likes, comments; ANALYZE on them.
    """
    spec = spec or DataSpec()
    started = time.perf_counter()
    rng = random.Random(spec.seed)
    n = spec.users
    popularity = _Sampler([1 / (rank + 1) ** spec.zipf_exponent for rank in range(n)])

    # Follows. Users 1..3 of the lowest popularity are the designated viewers.
    viewer_index = {count: n - 1 - i for i, count in enumerate(VIEWER_FOLLOWING)}
    edges: list[tuple[int, int]] = []
    for follower in range(n):
        wanted = next(
            (count for count, index in viewer_index.items() if index == follower),
            _following_count(rng, spec),
        )
        edges += [
            (follower, followee) for followee in popularity.distinct(rng, wanted, exclude=follower)
        ]
    followers = [0] * n
    following = [0] * n
    for follower, followee in edges:
        followers[followee] += 1
        following[follower] += 1

    # Posts: authors mildly skewed towards popular accounts; ids increase with time.
    activity = _Sampler([1 / (rank + 1) ** 0.3 for rank in range(n)])
    span = spec.days * 86400
    posts = sorted(
        (spec.now - timedelta(seconds=rng.random() * span), activity.draw(rng))
        for _ in range(spec.posts)
    )
    post_counts = [0] * n
    for _, author in posts:
        post_counts[author] += 1

    # Likes and comments: on posts of popular authors more often, by anyone.
    by_author: dict[int, list[int]] = {}
    for index, (_, author) in enumerate(posts):
        by_author.setdefault(author, []).append(index)
    authors_with_posts = sorted(by_author)
    author_sampler = _Sampler([1 / (author + 1) ** 0.7 for author in authors_with_posts])

    def some_post() -> int:
        posts_of = by_author[authors_with_posts[author_sampler.draw(rng)]]
        return posts_of[rng.randrange(len(posts_of))]

    likes: set[tuple[int, int]] = set()
    while len(likes) < spec.likes:
        likes.add((some_post(), rng.randrange(n)))
    comments = [(some_post(), rng.randrange(n)) for _ in range(spec.comments)]
    like_counts = [0] * len(posts)
    comment_counts = [0] * len(posts)
    for post, _ in likes:
        like_counts[post] += 1
    for post, _ in comments:
        comment_counts[post] += 1

    seconds = {"generate": time.perf_counter() - started}
    mark = time.perf_counter()

    def phase(name: str) -> None:
        nonlocal mark
        seconds[name] = time.perf_counter() - mark
        mark = time.perf_counter()

    async with db.acquire() as conn, conn.transaction():
        # The rows are consistent by construction: skip the per-row foreign-key triggers when
        # allowed (superuser, as with the embedded server), which makes loading ~2x faster.
        with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
            async with conn.transaction():
                await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.copy_records_to_table(
            "users",
            records=[
                (f"u{i}", f"u{i}@bench.example", "-", followers[i], following[i], post_counts[i])
                for i in range(n)
            ],
            columns=[
                "username",
                "email",
                "password_hash",
                "follower_count",
                "following_count",
                "post_count",
            ],
        )
        phase("users")
        ids = [row["id"] for row in await conn.fetch("SELECT id FROM users ORDER BY id")]
        assert len(ids) == n, "generate() needs an empty database"
        await conn.copy_records_to_table(
            "follows",
            records=[(ids[a], ids[b]) for a, b in edges],
            columns=["follower_id", "followee_id"],
        )
        phase("follows")
        await conn.copy_records_to_table(
            "posts",
            records=[
                (ids[author], "PUBLISHED", like_counts[i], comment_counts[i], at, at)
                for i, (at, author) in enumerate(posts)
            ],
            columns=[
                "author_id",
                "status",
                "like_count",
                "comment_count",
                "created_at",
                "published_at",
            ],
        )
        phase("posts")
        post_ids = [row["id"] for row in await conn.fetch("SELECT id FROM posts ORDER BY id")]
        assert len(post_ids) == len(posts)

        def after_publish(post: int) -> datetime:
            published = posts[post][0]
            return min(published + timedelta(seconds=rng.random() * 86400), spec.now)

        await conn.copy_records_to_table(
            "likes",
            records=[(post_ids[p], ids[u], after_publish(p)) for p, u in sorted(likes)],
            columns=["post_id", "user_id", "created_at"],
        )
        phase("likes")
        await conn.copy_records_to_table(
            "comments",
            records=[(post_ids[p], ids[u], "nice", after_publish(p)) for p, u in comments],
            columns=["post_id", "author_id", "text", "created_at"],
        )
        phase("comments")
    async with db.acquire() as conn:
        # Statistics for the planner, and the visibility map for index-only scans (what
        # autovacuum would have done by the time a real table got this big).
        for table in ("users", "follows", "posts", "likes", "comments"):
            await conn.execute(f"VACUUM (ANALYZE) {table}")
    phase("vacuum")

    celebrities = [i for i in range(n) if followers[i] >= spec.celebrity_threshold]
    celebrities.sort(key=lambda i: -followers[i])
    return Dataset(
        spec=spec,
        user_ids=ids,
        follower_counts={ids[i]: followers[i] for i in range(n)},
        celebrities=[ids[i] for i in celebrities],
        viewers={count: ids[index] for count, index in viewer_index.items()},
        post_count=len(posts),
        seconds=seconds,
    )


async def add_followers(db: asyncpg.Pool, author_id: int, count: int, *, prefix: str) -> list[int]:
    """`count` new users who all follow `author_id` (COPY); returns their ids, ascending.

    Side effects: users and follows rows; the author's follower_count grows by `count`.
    """
    async with db.acquire() as conn:
        first: int = await conn.fetchval("SELECT coalesce(max(id), 0) FROM users")
        await conn.copy_records_to_table(
            "users",
            records=[(f"{prefix}{i}", f"{prefix}{i}@bench.example", "-", 1) for i in range(count)],
            columns=["username", "email", "password_hash", "following_count"],
        )
        new_ids = [
            row["id"]
            for row in await conn.fetch("SELECT id FROM users WHERE id > $1 ORDER BY id", first)
        ]
        await conn.copy_records_to_table(
            "follows",
            records=[(user_id, author_id) for user_id in new_ids],
            columns=["follower_id", "followee_id"],
        )
        await conn.execute(
            "UPDATE users SET follower_count = follower_count + $2 WHERE id = $1", author_id, count
        )
        await conn.execute("VACUUM (ANALYZE) users")
        await conn.execute("VACUUM (ANALYZE) follows")
    return new_ids
