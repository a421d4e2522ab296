"""`python -m bench.ranking`: the learned feed ranker against the formula, on a simulated
population whose engagement comes from hidden preferences, through the real API and the
worker's jobs.

The population: `--users` viewers, each following `--follows` of `--authors` authors, whose
posts (`--posts` each, published over the last three days) carry one of 12 hashtags. Hidden
from the ranker (never written anywhere it reads): each viewer's affinity to each author, their
interest in each hashtag, each post's quality, how fast interest fades with age, and a
position bias (a post lower in the page is looked at less). What the ranker can see is their
trace: likes given before (a month of history, more to the authors one likes), posts' like
counts (better posts gathered more), ages, what the feed showed before.

A session: a viewer opens the feed (`feed(first: 20)`, RANKED), looks down the page, engages
with each post with the hidden probability (then likes it: `likePost`, and it stays on screen
4 s; else 0.8 s), and reports what it saw (`recordImpressions`). The worker's jobs move the
served-page log into PostgreSQL and flush like counts (called as the cron calls them).

1. Log: `--sessions` sessions while no model exists (everyone gets the formula).
2. Train (as `shutter train-ranker` and the daily job do, on minutes instead of days): the
   first 80% of the log trains, the last 20% (later sessions) is held out; NDCG@10 of the
   held-out pages re-ordered by the model vs the formula. The model is promoted by the rule.
3. A/B: new posts arrive; `--sessions` fresh sessions with RANKER_MODEL_SHARE 0.5 (the arm by
   the hash of the user id): engagement rate per arm (engaged / looked-at posts, the simulator's
   truth; the log's report beside it).
4. Throughput: RANKED first pages at concurrency 16, requests going round the viewers of the
   model arm, then of the formula arm (alike in what they follow), in alternating rounds of the
   same run.

Targets (issue #22): NDCG@10 model >= 1.15x formula; engagement model arm >= 1.10x formula
arm; feed throughput with the model >= 0.9x the formula's.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import secrets
import statistics
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import asyncpg
import numpy as np
from redis.asyncio import Redis

from bench.harness import (
    api_env,
    api_process,
    bearer,
    cpu_seconds,
    load_client,
    post_graphql,
    row,
    run_load,
    services,
)
from schema.global_ids import decode_global_id
from services import likes
from services.ranker import log_upkeep, reports, training
from services.ranker.serving import Experiment
from services.tokens import AccessTokens
from storage.pg import create_pool

TOPICS = 12
PAGE = 20
LOOKED_AT = PAGE
"""A session looks at the first this many posts of its page."""
SALT = "bench-ranking"
FEED = """
query Feed($first: Int!) { feed(first: $first) { edges { node { id author { id } } } } }
"""
EXPLAINED = """
query Feed { feed(first: 1) { edges { node { rankingExplanation { ranker modelVersion } } } } }
"""
THROUGHPUT_FEED = """
query Feed($first: Int!) {
  feed(first: $first) { edges { node { id caption author { username } likeCount commentCount
                                       viewerHasLiked } } } }
"""
LIKE = "mutation L($id: ID!) { likePost(input: {postId: $id}) { userErrors { code } } }"
IMPRESSIONS = """
mutation I($items: [ImpressionInput!]!) {
  recordImpressions(input: {impressions: $items}) { recorded userErrors { code field } } }
"""


@dataclass
class World:
    """The population and its hidden preferences (the simulator's alone)."""

    users: list[int]
    authors: list[int]
    affinity: dict[tuple[int, int], float]
    """(viewer, author) -> hidden affinity (log scale)."""
    interest: dict[int, np.ndarray]
    """viewer -> hidden interest in each topic."""
    topic: dict[int, int] = field(default_factory=dict)
    quality: dict[int, float] = field(default_factory=dict)
    published: dict[int, datetime] = field(default_factory=dict)
    seen: set[tuple[int, int]] = field(default_factory=set)

    def engagement(self, viewer: int, post: int, author: int, position: int) -> float:
        """The hidden probability that `viewer` engages with `post` at `position`."""
        age_h = (datetime.now(UTC) - self.published[post]).total_seconds() / 3600
        logit = (
            -3.6
            + 1.2 * self.affinity[viewer, author]
            + 0.8 * float(self.interest[viewer][self.topic[post]])
            + 2.0 * self.quality[post]
            - 0.15 * math.log1p(age_h)
            - (1.5 if (viewer, post) in self.seen else 0.0)
        )
        position_bias = 1 / (1 + 0.08 * position)
        return position_bias / (1 + math.exp(-logit))


async def build_world(
    db: asyncpg.Pool, rng: random.Random, users: int, authors: int, follows: int, posts: int
) -> World:
    """Users, follows, posts with like counts by quality, and a month of likes given by
    affinity: straight into PostgreSQL (the setting, not what is measured)."""
    now = datetime.now(UTC)
    ids = await db.fetch(
        """
        INSERT INTO users (username, email, password_hash)
        SELECT 'sim' || n, 'sim' || n || '@example.com', '$argon2id$not-a-real-hash'
          FROM generate_series(1, $1) AS n RETURNING id
        """,
        users + authors,
    )
    people = [row["id"] for row in ids]
    viewers, writers = people[:users], people[users:]
    world = World(
        viewers,
        writers,
        {(v, a): rng.gauss(0, 1) for v in viewers for a in writers},
        {v: np.array([rng.gauss(0, 1) for _ in range(TOPICS)]) for v in viewers},
    )
    edges = [(v, a) for v in viewers for a in rng.sample(writers, follows)]
    await db.executemany("INSERT INTO follows (follower_id, followee_id) VALUES ($1, $2)", edges)
    await db.execute(
        """
        UPDATE users u
           SET following_count = (SELECT count(*) FROM follows WHERE follower_id = u.id),
               follower_count = (SELECT count(*) FROM follows WHERE followee_id = u.id)
        """
    )
    await add_posts(db, world, rng, posts_per_author=posts, spread_hours=72, now=now)
    # A month of history: each viewer liked older posts of the authors they follow, more of
    # those they like (the trace of the hidden affinity the ranker can read).
    history = []
    for viewer, author in edges:
        for _ in range(np.random.default_rng(viewer * 7919 + author).poisson(
            1.5 * math.exp(world.affinity[viewer, author])
        )):  # fmt: skip
            history.append((viewer, author, now - timedelta(days=rng.uniform(4, 28))))
    old_posts = await db.fetch(
        """
        INSERT INTO posts (author_id, status, published_at, created_at, caption)
        SELECT a, 'PUBLISHED', t, t, 'an old post' FROM unnest($1::bigint[], $2::timestamptz[])
               AS h(a, t)
        RETURNING id, author_id
        """,
        [author for _, author, _ in history],
        [when - timedelta(hours=1) for _, _, when in history],
    )
    for post, (_, _, when) in zip(old_posts, history, strict=True):
        world.quality[post["id"]] = rng.gauss(0, 1)
        world.topic[post["id"]] = rng.randrange(TOPICS)
        world.published[post["id"]] = when - timedelta(hours=1)
    await db.executemany(
        "INSERT INTO likes (post_id, user_id, created_at) VALUES ($1, $2, $3)",
        [(post["id"], viewer, when)
         for post, (viewer, _, when) in zip(old_posts, history, strict=True)],
    )  # fmt: skip
    return world


async def add_posts(
    db: asyncpg.Pool,
    world: World,
    rng: random.Random,
    *,
    posts_per_author: int,
    spread_hours: float,
    now: datetime,
) -> None:
    """Posts by every author over the last `spread_hours`, each with a hidden quality, a topic
    (its hashtag) and the likes the rest of the world gave it (more for better, older ones)."""
    rows = []
    for author in world.authors:
        for _ in range(posts_per_author):
            quality = rng.gauss(0, 1)
            topic = rng.randrange(TOPICS)
            age_h = rng.uniform(0.1, spread_hours)
            likes_so_far = np.random.default_rng(rng.randrange(1 << 30)).poisson(
                3 * math.exp(quality) * math.sqrt(1 + age_h)
            )
            rows.append((author, now - timedelta(hours=age_h), f"#topic{topic}", int(likes_so_far),
                         quality, topic))  # fmt: skip
    inserted = await db.fetch(
        """
        INSERT INTO posts (author_id, status, published_at, created_at, caption, like_count)
        SELECT a, 'PUBLISHED', t, t, c, l
          FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::int[]) AS p(a, t, c, l)
        RETURNING id
        """,
        [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows],
    )  # fmt: skip
    for record, (_, published, _, _, quality, topic) in zip(inserted, rows, strict=True):
        world.quality[record["id"]] = quality
        world.topic[record["id"]] = topic
        world.published[record["id"]] = published
    await db.execute("UPDATE users u SET post_count = (SELECT count(*) FROM posts "
                     "WHERE author_id = u.id AND status = 'PUBLISHED')")  # fmt: skip


def record_id(global_id: str) -> int:
    decoded = decode_global_id(global_id)
    assert decoded is not None, global_id
    return decoded[1]


@dataclass
class Tally:
    looked: int = 0
    engaged: int = 0

    @property
    def rate(self) -> float:
        return self.engaged / self.looked if self.looked else float("nan")


async def session(
    client: aiohttp.ClientSession,
    world: World,
    viewer: int,
    headers: dict[str, str],
    rng: random.Random,
) -> Tally:
    """One viewer's session through the API (see the module docstring)."""
    body = await post_graphql(client, FEED, {"first": PAGE}, headers)
    edges = body["data"]["feed"]["edges"]  # type: ignore[index]
    tally, reported = Tally(), []
    for position, edge in enumerate(edges[:LOOKED_AT]):
        post, author = record_id(edge["node"]["id"]), record_id(edge["node"]["author"]["id"])
        engaged = rng.random() < world.engagement(viewer, post, author, position)
        world.seen.add((viewer, post))
        tally.looked += 1
        tally.engaged += engaged
        reported.append(
            {"postId": edge["node"]["id"], "position": position,
             "visibleMs": 4000 if engaged else 800}
        )  # fmt: skip
        if engaged:
            await post_graphql(client, LIKE, {"id": edge["node"]["id"]}, headers)
    if reported:
        await post_graphql(client, IMPRESSIONS, {"items": reported}, headers)
    return tally


async def run_sessions(
    client: aiohttp.ClientSession,
    world: World,
    tokens: AccessTokens,
    db: asyncpg.Pool,
    redis: Redis,
    rng: random.Random,
    count: int,
    experiment: Experiment,
) -> dict[str, Tally]:
    """`count` sessions of random viewers, 8 at a time, the worker's jobs between rounds;
    the simulator's tally per experiment arm."""
    tallies = {"formula": Tally(), "model": Tally()}
    done = 0
    while done < count:
        viewers = rng.sample(world.users, min(8, count - done))
        results = await asyncio.gather(
            *(session(client, world, v, bearer(tokens, v), random.Random(rng.random()))
              for v in viewers)
        )  # fmt: skip
        for viewer, tally in zip(viewers, results, strict=True):
            arm = tallies[experiment.arm_of(viewer)]
            arm.looked += tally.looked
            arm.engaged += tally.engaged
        done += len(viewers)
        if done % 64 < 8:
            await worker_jobs(db, redis)
    await worker_jobs(db, redis)
    return tallies


async def worker_jobs(db: asyncpg.Pool, redis: Redis) -> None:
    """What the worker's crons do meanwhile: the served-page log into PostgreSQL, the like
    counters into posts.like_count."""
    await log_upkeep.drain_served_pages(redis, db)
    await likes.flush_like_counts(db, redis)


async def wait_for_model(
    client: aiohttp.ClientSession, tokens: AccessTokens, viewer: int, version: int
) -> float:
    """Seconds until the API serves `version` to a model-arm viewer (its cache re-checks the
    active model every 30 s): read from the feed's own explanation."""
    started = time.perf_counter()
    while time.perf_counter() - started < 60:
        body = await post_graphql(client, EXPLAINED, {}, bearer(tokens, viewer))
        edges = body["data"]["feed"]["edges"]  # type: ignore[index]
        if edges and (edges[0]["node"]["rankingExplanation"] or {}).get("modelVersion") == version:
            return time.perf_counter() - started
        await asyncio.sleep(1)
    raise RuntimeError(f"the API did not serve model {version} within 60 s")


async def main(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    experiment = Experiment(SALT, 0.5)
    with services() as (database_url, redis_url, scratch):
        db = await create_pool(database_url, min_size=1, max_size=4)
        redis = Redis.from_url(redis_url)
        try:
            await simulate(args, rng, experiment, database_url, redis_url, scratch, db, redis)
        finally:
            await redis.aclose()
            await db.close()


async def simulate(
    args: argparse.Namespace,
    rng: random.Random,
    experiment: Experiment,
    database_url: str,
    redis_url: str,
    scratch: Path,
    db: asyncpg.Pool,
    redis: Redis,
) -> None:
    secret = secrets.token_urlsafe(32)
    tokens = AccessTokens(secret, ttl_seconds=3600)
    print("building the population ...", flush=True)
    world = await build_world(db, rng, args.users, args.authors, args.follows, args.posts)
    env = api_env(database_url, redis_url, scratch, secret) | {
        "RANKER_MODEL_SHARE": "0.5",
        "RANKER_EXPERIMENT_SALT": SALT,
        **{f"RATE_LIMIT_{kind}_PER_{span}": "1000000"
           for kind in ("LIKES", "IMPRESSIONS") for span in ("HOUR", "DAY")},
    }  # fmt: skip
    async with api_process(env) as server, load_client(server.url, 16) as client:
        started = datetime.now(UTC)
        clock = time.perf_counter()
        logged = await run_sessions(
            client, world, tokens, db, redis, rng, args.sessions, experiment
        )
        span = datetime.now(UTC) - started
        print(
            f"1. logged {args.sessions} sessions in {time.perf_counter() - clock:.0f} s "
            f"(formula for all): engagement {logged['formula'].rate:.3f} + "
            f"{logged['model'].rate:.3f} by future arm"
        )
        result = await training.train(
            db,
            now=datetime.now(UTC),
            train_span=span * 0.8 + timedelta(seconds=5),
            test_span=span * 0.2,
        )
        metrics = result.metrics
        ratio = metrics["model"]["ndcg10"] / metrics["formula"]["ndcg10"]
        print(
            f"2. trained model {result.version} on {metrics['rows']['training']} rows, "
            f"held out {metrics['rows']['held_out']} (later sessions); "
            f"{'promoted' if result.promoted else 'NOT promoted'}\n"
            f"   held-out NDCG@10: model {metrics['model']['ndcg10']:.4f}, formula "
            f"{metrics['formula']['ndcg10']:.4f}: {ratio:.3f}x (target >= 1.15); "
            f"AUC model {metrics['model']['auc']:.3f}, formula {metrics['formula']['auc']:.3f}"
        )
        if not result.promoted:
            raise SystemExit("not promoted: no A/B")
        model_viewer = next(v for v in world.users if experiment.arm_of(v) == "model")
        waited = await wait_for_model(client, tokens, model_viewer, result.version)
        await add_posts(db, world, rng, posts_per_author=max(1, args.posts // 4),
                        spread_hours=6, now=datetime.now(UTC))  # fmt: skip
        ab_start = datetime.now(UTC)
        tallies = await run_sessions(
            client, world, tokens, db, redis, rng, args.sessions, experiment
        )
        lift = tallies["model"].rate / tallies["formula"].rate
        print(
            f"3. A/B on {args.sessions} fresh sessions (model served after {waited:.0f} s): "
            f"engagement rate model arm {tallies['model'].rate:.4f} "
            f"({tallies['model'].engaged}/{tallies['model'].looked}), formula arm "
            f"{tallies['formula'].rate:.4f} "
            f"({tallies['formula'].engaged}/{tallies['formula'].looked}): {lift:.3f}x "
            "(target >= 1.10)"
        )
        days = await reports.engagement_by_arm(db, ab_start.date(), datetime.now(UTC).date())
        print("   `shutter ranker report` (the log's labels, both phases of today: likes, 3 s)")
        for line in reports.engagement_table(days).splitlines():
            print(f"   {line}")
        ratios: dict[str, list[float]] = {"throughput": [], "cpu": []}
        for round_number in range(args.rounds):
            figures, cpu_ms = {}, {}
            order = ("model", "formula") if round_number % 2 == 0 else ("formula", "model")
            for arm in order:  # neither arm always goes first
                arm_headers = [
                    bearer(tokens, v) for v in world.users if experiment.arm_of(v) == arm
                ]

                async def send(index: int, arm_headers: list[dict[str, str]] = arm_headers) -> None:
                    headers = arm_headers[index % len(arm_headers)]
                    await post_graphql(client, THROUGHPUT_FEED, {"first": PAGE}, headers)

                await run_load(send, requests=100, concurrency=16)  # warm
                cpu_before = cpu_seconds(server.pid)
                figures[arm] = await run_load(send, requests=args.requests, concurrency=16)
                cpu_ms[arm] = (cpu_seconds(server.pid) - cpu_before) / args.requests * 1000
                print(
                    row(f"round {round_number + 1} RANKED, {arm} arm", figures[arm])
                    + f"  server CPU {cpu_ms[arm]:.2f} ms/request"
                )
            ratios["throughput"].append(figures["model"].throughput / figures["formula"].throughput)
            ratios["cpu"].append(cpu_ms["formula"] / cpu_ms["model"])
        print(
            f"4. feed throughput model / formula at c=16: median "
            f"{statistics.median(ratios['throughput']):.3f}x over {args.rounds} rounds; by the "
            f"server's CPU per request (formula / model): {statistics.median(ratios['cpu']):.3f}x "
            "(target >= 0.9)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=80)
    parser.add_argument("--authors", type=int, default=40)
    parser.add_argument("--follows", type=int, default=20, help="authors each viewer follows")
    parser.add_argument("--posts", type=int, default=8, help="posts per author")
    parser.add_argument("--sessions", type=int, default=600, help="per phase")
    parser.add_argument("--requests", type=int, default=1000, help="per throughput run")
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds")
    parser.add_argument("--seed", type=int, default=22)
    asyncio.run(main(parser.parse_args()))
