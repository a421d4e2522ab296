"""Fan-out on write, and the feed upkeep that follows and unfollows need (README, "Home feed:
hybrid fan-out").

- Publishing: `fan_out_post` (the job run when a post becomes PUBLISHED) pushes the post into
  every active follower's cached feed, in batches of `fan_out_batch_size` followers, one Redis
  script call per batch; authors with `celebrity_follower_threshold` followers or more are not
  fanned out: their posts are pulled at read time (services.feed.chronological).
- Following: `backfill_followee` after a follow, `remove_followee` after an unfollow;
  `fan_out_author` when an author drops below the celebrity threshold.

Every write here can run twice without harm: feed writes are set additions and removals.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from metrics import FAN_OUT_LAG
from services.feed.deps import FeedDeps
from storage import jobs
from storage.feed import cache as feed_cache
from storage.feed import sql as feed_sql
from storage.feed.sql import FeedPost, PostState
from storage.micros import micros_of

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


async def fan_out_post(deps: FeedDeps, post_id: int) -> FanOutResult:
    """Push a newly published post into the cached feed of each active follower of its author.

    Does nothing for a post that is not PUBLISHED (any more) or whose author has at least
    `celebrity_follower_threshold` followers. One batch runs here; more are enqueued as
    `fan_out_batch` jobs with deterministic ids (all run here when `run_jobs_inline`).
    Side effects: Redis feed writes (no TTL change), or enqueued jobs.
    """
    state = await feed_sql.fetch_post_state(deps.db, post_id)
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
    state = await feed_sql.fetch_post_state(deps.db, post_id)
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
                await feed_sql.fetch_follower_ids(
                    deps.db, state.author_id, after=after, until=until
                )
            )
        for _ in range(_PUSHES_IN_FLIGHT):
            await batches.put(None)

    async def push() -> int:
        inserted = 0
        while (user_ids := await batches.get()) is not None:
            inserted += await feed_cache.merge_entries(
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
    bounds = await feed_sql.fetch_follower_batch_bounds(
        deps.db, author_id, deps.config.fan_out_batch_size
    )
    return list(zip([0, *bounds], [*bounds, None], strict=True))


async def backfill_followee(deps: FeedDeps, viewer_id: int, followee_id: int) -> int:
    """After the viewer followed someone: add the followee's recent published posts to the
    viewer's cached feed. Nothing when the feed is missing (it is rebuilt on the next read) or
    when the followee is a celebrity (pulled at read time). Returns the entries added.
    Side effects: Redis feed write (no TTL change)."""
    if not await feed_cache.feed_exists(deps.redis, viewer_id):
        return 0
    count = await feed_sql.fetch_follower_count(deps.db, followee_id)
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
    removed = await remove_author_posts(deps, viewer_id, followee_id)
    await follower_lost(deps, followee_id, followee_follower_count=followee_follower_count)
    return removed


async def follower_lost(
    deps: FeedDeps, followee_id: int, *, followee_follower_count: int | None
) -> None:
    """After someone lost a follower (`followee_follower_count`: their count right after):
    when it has just dropped below the celebrity threshold, their posts (pulled at read time
    until now) are fanned out to their active followers (`fan_out_author`, enqueued or
    inline). Side effects: maybe a job."""
    if followee_follower_count == deps.config.celebrity_follower_threshold - 1:
        round_id = time.time_ns() // 1000
        if deps.run_jobs_inline:
            await fan_out_author(deps, followee_id, round_id)
        else:
            await jobs.enqueue_fan_out_author(deps.redis, followee_id, round_id)


async def remove_author_posts(deps: FeedDeps, viewer_id: int, author_id: int) -> int:
    """Remove the author's recent posts from the viewer's cached feed, if it exists (older
    leftovers are filtered at read time). Returns the entries removed. Side effects: Redis
    feed writes."""
    if not await feed_cache.feed_exists(deps.redis, viewer_id):
        return 0
    posts = await _recent_posts(deps, author_id)
    return await feed_cache.remove_posts(deps.redis, viewer_id, [post.id for post in posts])


async def forget_each_other(deps: FeedDeps, blocker_id: int, blocked_id: int) -> int:
    """After a block: each side's recent posts leave the other's cached feed (reads filter
    them meanwhile: storage.feed.sql). The job `clean_feeds_after_block` runs this. Returns
    the entries removed. Side effects: Redis feed writes."""
    return await remove_author_posts(deps, blocker_id, blocked_id) + await remove_author_posts(
        deps, blocked_id, blocker_id
    )


async def clean_feeds_after_block(deps: FeedDeps, blocker_id: int, blocked_id: int) -> None:
    """Schedule forget_each_other: a `clean_feeds_after_block` job (inline when
    `run_jobs_inline`). Side effects: an enqueued job, or the feed writes."""
    if deps.run_jobs_inline:
        await forget_each_other(deps, blocker_id, blocked_id)
    else:
        round_id = time.time_ns() // 1000
        await jobs.enqueue_clean_feeds_after_block(deps.redis, blocker_id, blocked_id, round_id)


async def fan_out_author(deps: FeedDeps, author_id: int, round_id: int) -> FanOutResult:
    """Push an author's recent posts to all their active followers: for an author who dropped
    below the celebrity threshold, whose posts were pulled at read time and are in no cache.
    Batches as fan_out_post (`fan_out_author_batch` jobs identified by `round_id`)."""
    count = await feed_sql.fetch_follower_count(deps.db, author_id)
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
    followers = await feed_sql.fetch_follower_ids(
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
    return await feed_sql.fetch_recent_posts_of_authors(
        deps.db, [author_id], before=None, limit=deps.config.max_entries + 1
    )


async def _merge_author_posts(deps: FeedDeps, user_ids: list[int], posts: list[FeedPost]) -> int:
    """Add an author's newest posts (as fetched by _recent_posts) to these feed_cache. When there
    were more than max_entries, older posts of the author were not fetched, so the feeds can
    claim completeness only above the oldest one fetched (which is not added)."""
    if not posts:
        return 0
    cut = len(posts) > deps.config.max_entries
    return await feed_cache.merge_entries(
        deps.redis,
        user_ids,
        [post.key for post in posts],
        max_entries=deps.config.max_entries,
        complete_above=posts[-1].key[0] if cut else 0,
    )
