"""Reading the home feed: one page, assembled. The use case behind the `feed` query.

A request goes down the layers once: `read_feed` collects the page's post ids
(services.feed.chronological, or services.feed.ranked for RANKED), records them as shown while
reading their like counters (one Redis round trip), and assembles what the posts show
(services.post_views) from the views the candidate query read with them (or, when the page was
answered otherwise, one view query); the resolver only maps the result to GraphQL types.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services import post_views, posts
from services.cursors import FeedSnapshotCursor, FeedTailCursor, TimeIdCursor, decode, encode
from services.feed import ranking
from services.feed.chronological import collect_chronological
from services.feed.deps import FeedDeps, FeedOrder
from services.feed.ranked import read_ranked
from services.pagination import Page, check_page_size, page_of
from services.post_views import PostView
from storage.counters import LikeCounter
from storage.feed import cache as feed_cache
from storage.pg.post_views import PostViewRow


@dataclass(frozen=True, slots=True)
class FeedIdPage(Page[int]):
    """A page of the home feed's post ids, with what was read alongside them."""

    like_counters: list[LikeCounter]
    """The posts' like counters with their versions, in page order, read with the page (count
    None where Redis holds none: services.likes.like_counts recounts those)."""
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
) -> Page[PostView]:
    """One page of the viewer's home feed, assembled: each post with its author, media, live
    like count and whether the viewer liked it, with opaque cursors.

    The page is read_feed_ids' (its errors and side effects too); a post the viewer may no
    longer see (deleted since its id was read) is left out, by the rule everywhere else
    (services.posts.is_visible). More side effects: like counters missing from Redis are
    recounted and filled (services.likes.like_counts). When the cached feed answered, the page
    costs one SQL statement in all.
    """
    ids = await read_feed_ids(deps, viewer_id, first=first, after=after, order=order, now=now)
    if not ids.edges:
        return Page(edges=[], has_next_page=ids.has_next_page)
    views = await post_views.page_views(
        deps.db,
        deps.redis,
        [post_id for _, post_id in ids.edges],
        viewer_id,
        like_counters=ids.like_counters,
        rows=ids.views,
    )
    visible = {view.post.id: view for view in views if posts.is_visible(view, viewer_id)}
    edges = [(cursor, visible[post_id]) for cursor, post_id in ids.edges if post_id in visible]
    return Page(edges=edges, has_next_page=ids.has_next_page)


async def read_feed_ids(
    deps: FeedDeps,
    viewer_id: int,
    *,
    first: int,
    after: str | None,
    order: FeedOrder,
    now: datetime | None = None,
) -> FeedIdPage:
    """One page of the viewer's home feed as post ids with opaque cursors, and their like
    counters as Redis holds them.

    The feed holds the published posts of the viewer and of everyone they follow. CHRONOLOGICAL
    is newest first by publish time (keyset cursors); RANKED re-scores the newest
    `ranked_window` posts (services.feed.ranking, as of `now`) and pages through a snapshot of
    that order, then on in time order. Neither repeats or skips a post while paging, even when
    posts arrive between pages. Raises InvalidArgumentError for a bad `first`, a cursor of the
    other order or of another list, or an expired RANKED cursor. Side effects: refreshes the
    cached feed's TTL; rebuilds a missing feed from PostgreSQL (reviving an inactive user); a
    RANKED first page stores its snapshot in Redis; the page's posts are recorded as shown to
    the viewer (the `seen` feature of later RANKED first pages), in the round trip that reads
    their like counters, which also logs a RANKED page served from its snapshot
    (storage.ranker_log). A CHRONOLOGICAL page answered by the cached feed comes with its
    posts' views (read in the same statement as its candidates).
    """
    limit = check_page_size(first)
    now = now or datetime.now(UTC)
    if order is FeedOrder.CHRONOLOGICAL:
        before = None
        if after is not None:
            cursor = decode(after, TimeIdCursor, of="feed order")
            before = (cursor.micros, cursor.item_id)
        collected = await collect_chronological(
            deps, viewer_id, before=before, limit=limit + 1, views=limit
        )
        page = page_of(
            [(encode(TimeIdCursor(*post.key)), post.id) for post in collected.posts], limit
        )
        views = _views_in_order(page, collected.views)
        served = None
    else:
        ranked_cursor = None
        if after is not None:
            ranked_cursor = decode(after, FeedSnapshotCursor, FeedTailCursor, of="feed order")
        ranked = await read_ranked(deps, viewer_id, limit=limit, cursor=ranked_cursor, now=now)
        page, served, views = ranked, ranked.served, None
    like_counters = await feed_cache.record_impressions(
        deps.redis,
        viewer_id,
        [post_id for _, post_id in page.edges],
        now_ms=int(now.timestamp() * 1000),
        keep=ranking.SEEN_KEPT,
        ttl_seconds=int(timedelta(days=ranking.SEEN_DAYS).total_seconds()),
        served=served,
    )
    return FeedIdPage(page.edges, page.has_next_page, like_counters, views)


def _views_in_order(page: Page[int], views: dict[int, PostViewRow]) -> list[PostViewRow] | None:
    """The views of the page's posts in page order; None unless every one was read."""
    post_ids = [post_id for _, post_id in page.edges]
    if not post_ids or any(post_id not in views for post_id in post_ids):
        return None
    return [views[post_id] for post_id in post_ids]
