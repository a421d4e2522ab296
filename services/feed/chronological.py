"""Assembling the home feed in time order: the cached entries (fanned out on write) merged with
the pull side (followed celebrities and the viewer's own posts, one query), checked against
PostgreSQL (still PUBLISHED, author still followed).

The cache is trusted only above its horizon (see storage.feed.cache); below it, and when a feed is
missing, the pure pull-model query answers, and a missing or thin feed is rebuilt and cached
within the request, which also revives an inactive user.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import NamedTuple

from metrics import FEED_CACHE_HIT, FEED_CACHE_MISS, FEED_CACHE_REBUILD
from services.feed.deps import FeedDeps
from storage.feed import cache as feed_cache
from storage.feed import sql as feed_sql
from storage.feed.cache import FeedState
from storage.feed.keys import FeedKey
from storage.feed.sql import CandidateFeatures, FeedPost
from storage.pg.post_views import PostViewRow

_WINDOW_SLACK = 4
"""Extra cache entries read per page (plus an eighth), for entries the read-time checks drop
(deleted posts, unfollowed authors: rare, as unfollows remove their entries); when more are
dropped, a larger window is read. Every entry read costs two index probes in PostgreSQL."""
_MAX_ID = 2**63 - 1


class Collected(NamedTuple):
    """What collect_chronological found."""

    posts: list[FeedPost]
    """Newest first."""
    views: dict[int, PostViewRow]
    """What some of the posts show, by post id, when read with them (see collect_chronological)."""
    features: dict[int, CandidateFeatures]
    """The posts' ranking inputs, by post id, when asked for and read with them."""
    shown: frozenset[int] = frozenset()
    """The posts the feed has shown the viewer (the ranking's `seen`); empty unless asked for."""


async def collect_chronological(
    deps: FeedDeps,
    viewer_id: int,
    *,
    before: FeedKey | None,
    limit: int,
    views: int = 0,
    affinity_since: datetime | None = None,
) -> Collected:
    """The newest `limit` posts of the viewer's feed strictly older than `before` (None: from
    the newest), exactly as the pull-model feed would list them; with the views of the newest
    `views` of them when the cached feed answers (read in its candidate query), none otherwise;
    likewise with every post's ranking inputs when `affinity_since` is given
    (storage.feed.sql.fetch_feed_candidates), and then also with the posts the feed has shown
    the viewer (read with the cached feed, whatever its state).

    Side effects: refreshes the feed's TTL; rebuilds a missing feed; refills a feed whose
    cached part is thinner than one page (both cached for later requests); counts the read as
    a cache hit or miss (and a rebuild) in the metrics.
    """
    config = deps.config
    count = limit + limit // 8 + _WINDOW_SLACK
    window = await feed_cache.read_window(
        deps.redis,
        viewer_id,
        at_most=before,
        count=count,
        ttl_seconds=config.ttl_seconds,
        with_shown=affinity_since is not None,
    )
    shown = window.shown
    (FEED_CACHE_HIT if window.state is FeedState.LIVE else FEED_CACHE_MISS).inc()
    while window.state is FeedState.LIVE:
        # The cache is exact above its horizon, and down to the last entry read when the
        # window came back full: keys above `floor` are known exactly once the pull side (the
        # same query) has filled in celebrities and own posts above it.
        window_full = len(window.entries) == count
        floor_micros = window.horizon_micros
        if window_full:
            floor_micros = max(floor_micros, window.entries[-1][0])
        floor = (floor_micros, _MAX_ID)
        checked, pulled, viewed, features = await feed_sql.fetch_feed_candidates(
            deps.db,
            viewer_id,
            config.celebrity_follower_threshold,
            cached_ids=[key[1] for key in window.entries if before is None or key < before],
            before=before,
            after_micros=floor_micros,
            limit=limit,
            views=views,
            affinity_since=affinity_since,
        )
        if pulled and len(pulled) == limit:
            last = pulled[-1].key
            floor = max(floor, (last[0], last[1] - 1))
        trusted = [post for post in _merge(checked, pulled) if post.key > floor]
        if len(trusted) >= limit:
            # The newest of `checked` and `pulled`, whose views were read with them.
            return Collected(trusted[:limit], viewed, features, shown)
        if window_full:
            # Read-time checks dropped too much: read more of the cache and try again.
            count *= 4
            window = await feed_cache.read_window(
                deps.redis, viewer_id, at_most=before, count=count, ttl_seconds=config.ttl_seconds
            )
            continue
        if window.horizon_micros == 0:
            # The cache is complete: the end of the feed.
            return Collected(trusted, viewed, features, shown)
        if before is None:
            # Fewer cached entries than a page: refill the cache from PostgreSQL.
            posts = await _rebuild(deps, viewer_id, before=before, limit=limit)
        else:
            posts = await feed_sql.fetch_pull_feed(deps.db, viewer_id, before=before, limit=limit)
        return Collected(posts, {}, {}, shown)
    posts = await _without_cache(deps, viewer_id, window.state, before=before, limit=limit)
    return Collected(posts, {}, {}, shown)


def _merge(*sources: Iterable[FeedPost]) -> list[FeedPost]:
    """The union of the sources without repeats, newest first."""
    by_id = {post.id: post for source in sources for post in source}
    return sorted(by_id.values(), key=lambda post: post.key, reverse=True)


async def _without_cache(
    deps: FeedDeps, viewer_id: int, state: FeedState, *, before: FeedKey | None, limit: int
) -> list[FeedPost]:
    if state is FeedState.MISSING:
        await feed_cache.start_rebuild(deps.redis, viewer_id)
        return await _rebuild(deps, viewer_id, before=before, limit=limit)
    # Another request is rebuilding it: answer from PostgreSQL alone.
    return await feed_sql.fetch_pull_feed(deps.db, viewer_id, before=before, limit=limit)


async def _rebuild(
    deps: FeedDeps, viewer_id: int, *, before: FeedKey | None, limit: int
) -> list[FeedPost]:
    """Pull the newest `max_entries` posts (one more, to place the horizon below them), cache
    them, and answer the page from them when it lies within them.

    Side effects: one pull query of `max_entries + 1` rows; the feed installed in Redis."""
    FEED_CACHE_REBUILD.inc()
    max_entries = deps.config.max_entries
    rows = await feed_sql.fetch_pull_feed(deps.db, viewer_id, before=None, limit=max_entries + 1)
    complete = len(rows) <= max_entries
    await feed_cache.install_feed(
        deps.redis,
        viewer_id,
        [post.key for post in rows[:max_entries]],
        horizon_micros=0 if complete else rows[-1].key[0],
        max_entries=max_entries,
        ttl_seconds=deps.config.ttl_seconds,
    )
    page = [post for post in rows if before is None or post.key < before][:limit]
    if complete or len(page) == limit:
        return page
    return await feed_sql.fetch_pull_feed(deps.db, viewer_id, before=before, limit=limit)
