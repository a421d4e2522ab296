"""The home feed (DESIGN.md §3, "Feed: hybrid fan-out"): fan-out on write, assembly on read,
and the upkeep that follows and unfollows need.

- Publishing: `fan_out_post` (the job run when a post becomes PUBLISHED) pushes the post into
  every active follower's cached feed, in batches of `fan_out_batch_size` followers, one Redis
  script call per batch; authors with `celebrity_follower_threshold` followers or more are not
  fanned out: their posts are pulled at read time.
- Reading: `read_feed` merges the cache with the pull side and checks every post against
  PostgreSQL (services.feed_read, services.feed_ranked).
- Following: `backfill_followee` after a follow, `remove_followee` after an unfollow.

Every write here can run twice without harm: feed writes are set additions and removals.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from metrics import FAN_OUT_LAG
from services import ranking
from services.feed_cursors import decode_chronological, decode_ranked, encode_chronological
from services.feed_deps import FeedConfig, FeedDeps, FeedOrder
from services.feed_ranked import read_ranked
from services.feed_read import collect_chronological
from services.pagination import Page, check_page_size, page_of
from storage import feeds, jobs
from storage.feed_keys import micros_of
from storage.pg import feed as feed_store
from storage.pg.feed import FeedPost, PostState
from storage.pg.post_views import PostViewRow

__all__ = [
    "FanOutResult",
    "FeedConfig",
    "FeedDeps",
    "FeedOrder",
    "FeedPage",
    "backfill_followee",
    "fan_out_author",
    "fan_out_author_batch",
    "fan_out_batch",
    "fan_out_post",
    "read_feed",
    "remove_followee",
]

FollowerRange = tuple[int, int | None]
"""Followers with ids in (after, until]; until None: no upper bound."""


@dataclass(frozen=True, slots=True)
class FanOutResult:
    skipped: str | None
    """Why nothing was done: "not published", "celebrity", "missing author"; None otherwise."""
    batches: int
    """Follower batches, performed here or enqueued as jobs."""
    inserted: int
    """(feed, post) entries added by the batches performed here (0 when enqueued)."""
    enqueued: bool = False


@dataclass(frozen=True, slots=True)
class FeedPage(Page[int]):
    """A page of post ids of the home feed."""

    like_counters: list[int | None]
    """The posts' like counters, in page order, read with the page (None where Redis holds
    none: services.likes.like_counts recounts those)."""
    views: list[PostViewRow] | None = None
    """What the posts show, in page order, when read with the page (the cached feed's
    candidate query reads them); None when they are still to be read."""


async def read_feed(
    deps: FeedDeps,
    viewer_id: int,
    *,
    first: int,
    after: str | None,
    order: FeedOrder,
    now: datetime | None = None,
) -> FeedPage:
    """One page of the viewer's home feed: post ids with opaque cursors, and their like
    counters as Redis holds them.

    The feed holds the published posts of the viewer and of everyone they follow. CHRONOLOGICAL
    is newest first by publish time (keyset cursors); RANKED re-scores the newest
    `ranked_window` posts (services.ranking, as of `now`) and pages through a snapshot of that
    order, then on in time order. Neither repeats or skips a post while paging, even when posts
    arrive between pages. Raises InvalidArgumentError for a bad `first`, a cursor of the other
    order or of another list, or an expired RANKED cursor. Side effects: refreshes the cached
    feed's TTL; rebuilds a missing feed from PostgreSQL (reviving an inactive user); a RANKED
    first page stores its snapshot in Redis; the page's posts are recorded as shown to the
    viewer (the `seen` feature of later RANKED first pages), in the round trip that reads their
    like counters. A CHRONOLOGICAL page answered by the cached feed comes with its posts' views
    (read in the same statement as its candidates).
    """
    limit = check_page_size(first)
    now = now or datetime.now(UTC)
    if order is FeedOrder.CHRONOLOGICAL:
        before = decode_chronological(after)
        collected = await collect_chronological(
            deps, viewer_id, before=before, limit=limit + 1, views=limit
        )
        page = page_of(
            [(encode_chronological(post.key), post.id) for post in collected.posts], limit
        )
        views = _views_in_order(page, collected.views)
    else:
        page = await read_ranked(deps, viewer_id, limit=limit, cursor=decode_ranked(after), now=now)
        views = None
    like_counters = await feeds.record_impressions(
        deps.redis,
        viewer_id,
        [post_id for _, post_id in page.edges],
        now_ms=int(now.timestamp() * 1000),
        keep=ranking.SEEN_KEPT,
        ttl_seconds=int(timedelta(days=ranking.SEEN_DAYS).total_seconds()),
    )
    return FeedPage(page.edges, page.has_next_page, like_counters, views)


def _views_in_order(page: Page[int], views: dict[int, PostViewRow]) -> list[PostViewRow] | None:
    """The views of the page's posts in page order; None unless every one was read."""
    post_ids = [post_id for _, post_id in page.edges]
    if not post_ids or any(post_id not in views for post_id in post_ids):
        return None
    return [views[post_id] for post_id in post_ids]


async def fan_out_post(deps: FeedDeps, post_id: int) -> FanOutResult:
    """Push a newly published post into the cached feed of each active follower of its author.

    Does nothing for a post that is not PUBLISHED (any more) or whose author has at least
    `celebrity_follower_threshold` followers. One batch runs here; more are enqueued as
    `fan_out_batch` jobs with deterministic ids (all run here when `run_jobs_inline`).
    Side effects: Redis feed writes (no TTL change), or enqueued jobs.
    """
    state = await feed_store.fetch_post_state(deps.db, post_id)
    if state is None or state.status != "PUBLISHED" or state.published_at is None:
        return FanOutResult("not published", 0, 0)
    if state.author_follower_count >= deps.config.celebrity_follower_threshold:
        return FanOutResult("celebrity", 0, 0)
    ranges = await _follower_ranges(deps, state.author_id, state.author_follower_count)
    if deps.run_jobs_inline or len(ranges) == 1:
        inserted = await _fan_out_ranges(deps, state, ranges)
        return FanOutResult(None, len(ranges), inserted)
    for after, until in ranges:
        await jobs.enqueue_fan_out_batch(deps.redis, post_id, after, until)
    return FanOutResult(None, len(ranges), 0, enqueued=True)


async def fan_out_batch(
    deps: FeedDeps, post_id: int, after_follower_id: int, until_follower_id: int | None
) -> int:
    """Push the post into the active feeds of its author's followers with ids in (after, until]
    in one script call; returns the entries added (0 when repeated, or the post is gone)."""
    state = await feed_store.fetch_post_state(deps.db, post_id)
    if state is None or state.status != "PUBLISHED" or state.published_at is None:
        return 0
    return await _fan_out_ranges(deps, state, [(after_follower_id, until_follower_id)])


_PUSHES_IN_FLIGHT = 2
"""Script calls under way at once: Redis runs one while the client sends the next."""


async def _fan_out_ranges(deps: FeedDeps, state: PostState, ranges: list[FollowerRange]) -> int:
    """One script call per range. Followers are read from PostgreSQL range after range while
    up to two script calls are under way, so that Redis does not wait for the client. Side
    effect: observes the fan-out lag (publish to completion) in the metrics."""
    assert state.published_at is not None
    entry = (micros_of(state.published_at), state.id)
    batches: asyncio.Queue[list[int] | None] = asyncio.Queue(maxsize=_PUSHES_IN_FLIGHT)

    async def read_followers() -> None:
        for after, until in ranges:
            await batches.put(
                await feed_store.fetch_follower_ids(
                    deps.db, state.author_id, after=after, until=until
                )
            )
        for _ in range(_PUSHES_IN_FLIGHT):
            await batches.put(None)

    async def push() -> int:
        inserted = 0
        while (user_ids := await batches.get()) is not None:
            inserted += await feeds.merge_entries(
                deps.redis, user_ids, [entry], max_entries=deps.config.max_entries
            )
        return inserted

    async with asyncio.TaskGroup() as group:  # a failure cancels the others
        group.create_task(read_followers())
        pushes = [group.create_task(push()) for _ in range(_PUSHES_IN_FLIGHT)]
    FAN_OUT_LAG.observe(max(0.0, time.time() - state.published_at.timestamp()))
    return sum(task.result() for task in pushes)


async def _follower_ranges(
    deps: FeedDeps, author_id: int, follower_count: int
) -> list[FollowerRange]:
    """Batches of about `fan_out_batch_size` followers covering every follower id (also those
    who follow while the batches run: the last range has no upper bound)."""
    if follower_count <= deps.config.fan_out_batch_size:
        return [(0, None)]
    bounds = await feed_store.fetch_follower_batch_bounds(
        deps.db, author_id, deps.config.fan_out_batch_size
    )
    return list(zip([0, *bounds], [*bounds, None], strict=True))


async def backfill_followee(deps: FeedDeps, viewer_id: int, followee_id: int) -> int:
    """After the viewer followed someone: add the followee's recent published posts to the
    viewer's cached feed. Nothing when the feed is missing (it is rebuilt on the next read) or
    when the followee is a celebrity (pulled at read time). Returns the entries added.
    Side effects: Redis feed write (no TTL change)."""
    if not await feeds.feed_exists(deps.redis, viewer_id):
        return 0
    count = await feed_store.fetch_follower_count(deps.db, followee_id)
    if count is None or count >= deps.config.celebrity_follower_threshold:
        return 0
    posts = await _recent_posts(deps, followee_id)
    return await _merge_author_posts(deps, [viewer_id], posts)


async def remove_followee(
    deps: FeedDeps, viewer_id: int, followee_id: int, *, followee_follower_count: int | None
) -> int:
    """After the viewer unfollowed someone: remove the followee's recent posts from the viewer's
    cached feed (older leftovers are filtered at read time). Returns the entries removed.

    `followee_follower_count` is the followee's count right after this unfollow (from
    follows.unfollow_user): when it has just dropped below the celebrity threshold, the
    followee's posts (pulled at read time until now) are fanned out to their active followers
    (`fan_out_author`, enqueued or inline). Side effects: Redis feed writes; maybe a job.
    """
    removed = 0
    if await feeds.feed_exists(deps.redis, viewer_id):
        posts = await _recent_posts(deps, followee_id)
        removed = await feeds.remove_posts(deps.redis, viewer_id, [post.id for post in posts])
    if followee_follower_count == deps.config.celebrity_follower_threshold - 1:
        round_id = time.time_ns() // 1000
        if deps.run_jobs_inline:
            await fan_out_author(deps, followee_id, round_id)
        else:
            await jobs.enqueue_fan_out_author(deps.redis, followee_id, round_id)
    return removed


async def fan_out_author(deps: FeedDeps, author_id: int, round_id: int) -> FanOutResult:
    """Push an author's recent posts to all their active followers: for an author who dropped
    below the celebrity threshold, whose posts were pulled at read time and are in no cache.
    Batches as fan_out_post (`fan_out_author_batch` jobs identified by `round_id`)."""
    count = await feed_store.fetch_follower_count(deps.db, author_id)
    if count is None:
        return FanOutResult("missing author", 0, 0)
    if count >= deps.config.celebrity_follower_threshold:
        return FanOutResult("celebrity", 0, 0)
    ranges = await _follower_ranges(deps, author_id, count)
    if deps.run_jobs_inline or len(ranges) == 1:
        inserted = 0
        for after, until in ranges:
            inserted += await fan_out_author_batch(deps, author_id, after, until)
        return FanOutResult(None, len(ranges), inserted)
    for after, until in ranges:
        await jobs.enqueue_fan_out_author_batch(deps.redis, author_id, round_id, after, until)
    return FanOutResult(None, len(ranges), 0, enqueued=True)


async def fan_out_author_batch(
    deps: FeedDeps, author_id: int, after_follower_id: int, until_follower_id: int | None
) -> int:
    """One batch of fan_out_author: followers with ids in (after, until]. Script calls are
    sized to `backfill_script_budget` (feed, post) pairs, since a script blocks Redis."""
    posts = await _recent_posts(deps, author_id)
    if not posts:
        return 0
    followers = await feed_store.fetch_follower_ids(
        deps.db, author_id, after=after_follower_id, until=until_follower_id
    )
    chunk = max(1, deps.config.backfill_script_budget // len(posts))
    inserted = 0
    for start in range(0, len(followers), chunk):
        inserted += await _merge_author_posts(deps, followers[start : start + chunk], posts)
    return inserted


async def _recent_posts(deps: FeedDeps, author_id: int) -> list[FeedPost]:
    """The author's newest `max_entries` published posts, and one more when there are more
    (_merge_author_posts places the horizon on it)."""
    return await feed_store.fetch_recent_posts_of_authors(
        deps.db, [author_id], before=None, limit=deps.config.max_entries + 1
    )


async def _merge_author_posts(deps: FeedDeps, user_ids: list[int], posts: list[FeedPost]) -> int:
    """Add an author's newest posts (as fetched by _recent_posts) to these feeds. When there
    were more than max_entries, older posts of the author were not fetched, so the feeds can
    claim completeness only above the oldest one fetched (which is not added)."""
    if not posts:
        return 0
    cut = len(posts) > deps.config.max_entries
    return await feeds.merge_entries(
        deps.redis,
        user_ids,
        [post.key for post in posts],
        max_entries=deps.config.max_entries,
        complete_above=posts[-1].key[0] if cut else 0,
    )
