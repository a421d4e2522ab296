"""RANKED home feed: the newest `ranked_window` candidates re-scored (services.feed.ranking).

Paging stays stable because the first page stores the ranked order in Redis (a snapshot with a
TTL); later pages read positions from it, so new posts or changing like counts never move a
post across a page boundary (no repeats, no skips). Past the end of the window, paging goes on
in time order below the window's oldest candidate. Deleted posts and unfollowed authors are
dropped from every page at read time.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from services.cursors import FeedSnapshotCursor, FeedTailCursor, encode
from services.feed import features as features_
from services.feed import ranking
from services.feed.chronological import collect_chronological
from services.feed.deps import FeedDeps
from services.pagination import InvalidArgumentError, Page, page_of
from services.ranker.serving import WindowScores
from storage.feed import cache as feed_cache
from storage.feed import sql as feed_sql
from storage.feed.keys import FeedKey
from storage.feed.sql import CandidateFeatures, FeedPost
from storage.ranker_log import ServedPage, SnapshotPageLog

_SNAPSHOT_SLACK = 8


async def read_ranked(
    deps: FeedDeps,
    viewer_id: int,
    *,
    limit: int,
    cursor: FeedSnapshotCursor | FeedTailCursor | None,
    now: datetime,
) -> RankedPage:
    """One page of the ranked feed. The first page (no cursor) ranks and stores a snapshot.

    Raises InvalidArgumentError when the snapshot of `cursor` has expired. Side effects: as
    collect_chronological; the first page writes the snapshot (TTL ranked_snapshot_ttl_seconds)
    and, with deps.log_served_pages, the window's feature rows, and logs the page with its
    posts' rows (storage.ranker_log); a later page served from the window comes with what it
    logs (`served`), for the caller to write in its next round trip.
    """
    if isinstance(cursor, FeedTailCursor):
        below = (cursor.micros, cursor.post_id)
        page = page_of(await _tail_items(deps, viewer_id, below, limit + 1), limit)
        return RankedPage(page.edges, page.has_next_page)
    if cursor is None:
        page = await _first_page(deps, viewer_id, limit, now)
        return RankedPage(page.edges, page.has_next_page)
    return await _snapshot_page(deps, viewer_id, cursor, limit, now)


@dataclass(frozen=True, slots=True)
class RankedPage(Page[int]):
    """A page of the ranked feed, with what serving it logs when that is still to be written
    (pages served from a snapshot: storage.feed.cache.record_impressions writes it)."""

    served: SnapshotPageLog | None = None


@dataclass(frozen=True, slots=True)
class RankedWindow:
    """The ranked window: post ids best first, with each one's feature row and score."""

    post_ids: list[int]
    features: features_.Matrix
    """Row i: the features of post_ids[i] (services.feed.features.FEATURE_NAMES)."""
    scores: list[float]
    model_version: int | None = None
    """The learned model that scored the window; None: the formula."""
    arm: str = "formula"
    """The viewer's ranker experiment arm (services.ranker.serving.Experiment)."""


async def rank_candidates(
    deps: FeedDeps,
    viewer_id: int,
    candidates: Sequence[FeedPost],
    now: datetime,
    inputs: Mapping[int, CandidateFeatures] | None,
    shown: AbstractSet[int],
) -> RankedWindow:
    """Score `candidates` for the viewer and order them (services.feed.features, vectorised over
    the window). Their inputs come from the candidate query (`inputs`, one per candidate) when it
    read them; else two queries read them (engagement, affinity). `shown`: the posts the feed
    has shown the viewer before. The active learned model scores them when one serves the
    viewer's experiment arm (deps.ranker), else the formula."""
    if not candidates:
        return RankedWindow([], np.empty((0, len(features_.FEATURE_NAMES))), [])
    post_ids = [post.id for post in candidates]
    if inputs is None or any(post_id not in inputs for post_id in post_ids):
        inputs = await _read_inputs(deps, viewer_id, candidates, now)
        candidates = [post for post in candidates if post.id in inputs]
    matrix = features_.feature_matrix(
        viewer_id, candidates, [inputs[post.id] for post in candidates], shown, now
    )
    if deps.ranker is None:
        scored = WindowScores(features_.formula_scores(matrix), None, "formula")
    else:
        scored = await deps.ranker.score(deps.db, viewer_id, matrix)
    order = features_.order(
        [post.id for post in candidates], [post.author_id for post in candidates], scored.scores
    )
    return RankedWindow(
        [candidates[i].id for i in order],
        matrix[order],
        scored.scores[order].tolist(),
        scored.model_version,
        scored.arm,
    )


async def _read_inputs(
    deps: FeedDeps, viewer_id: int, candidates: Sequence[FeedPost], now: datetime
) -> dict[int, CandidateFeatures]:
    """The ranking inputs of candidates collected without them (the feed was answered by
    PostgreSQL alone): two queries. Posts no longer published are left out."""
    engagement = await feed_sql.fetch_post_engagement(deps.db, [post.id for post in candidates])
    authors = sorted({post.author_id for post in candidates})
    given = await feed_sql.fetch_author_affinity(
        deps.db, viewer_id, authors, since=now - timedelta(days=ranking.AFFINITY_DAYS)
    )
    none = feed_sql.AuthorAffinity(0, 0)
    return {
        post.id: CandidateFeatures(
            counts.like_count,
            counts.comment_count,
            given.get(post.author_id, none).likes,
            given.get(post.author_id, none).comments,
        )
        for post in candidates
        if (counts := engagement.get(post.id)) is not None
    }


async def _first_page(deps: FeedDeps, viewer_id: int, limit: int, now: datetime) -> Page[int]:
    window = deps.config.ranked_window
    collected = await collect_chronological(
        deps,
        viewer_id,
        before=None,
        limit=window,
        affinity_since=now - timedelta(days=ranking.AFFINITY_DAYS),
    )
    candidates = collected.posts
    tail = candidates[-1].key if len(candidates) == window else None
    window_ranked = await rank_candidates(
        deps, viewer_id, candidates, now, collected.features or None, collected.shown
    )
    ranked = window_ranked.post_ids
    snapshot_id = secrets.token_urlsafe(9)
    served = window_rows = None
    if deps.log_served_pages and ranked:
        served = ServedPage(
            page_id=snapshot_id,
            viewer_id=viewer_id,
            served_ms=int(now.timestamp() * 1000),
            model_version=window_ranked.model_version,
            arm=window_ranked.arm,
            post_ids=ranked[:limit],
            feature_names=features_.FEATURE_NAMES,
            features=window_ranked.features[:limit],
        )
        if len(ranked) > limit:
            window_rows = window_ranked.features
    await feed_cache.save_ranked_snapshot(
        deps.redis,
        viewer_id,
        snapshot_id,
        ranked,
        window_tail=tail,
        ttl_seconds=deps.config.ranked_snapshot_ttl_seconds,
        served=served,
        window_rows=window_rows,
    )
    items = [
        (encode(FeedSnapshotCursor(snapshot_id, index + 1)), post_id)
        for index, post_id in enumerate(ranked[: limit + 1])
    ]
    if len(items) <= limit and tail is not None:
        items += await _tail_items(deps, viewer_id, tail, limit + 1 - len(items))
    return page_of(items, limit)


async def _snapshot_page(
    deps: FeedDeps, viewer_id: int, cursor: FeedSnapshotCursor, limit: int, now: datetime
) -> RankedPage:
    items: list[tuple[str, int]] = []
    positions: dict[int, int] = {}
    """The window position of each post read from the snapshot (for the page's log)."""
    offset = cursor.offset
    while True:
        found = await feed_cache.read_ranked_snapshot(
            deps.redis,
            viewer_id,
            cursor.snapshot_id,
            offset=offset,
            count=limit + 1 - len(items) + _SNAPSHOT_SLACK,
        )
        if found is None:
            raise InvalidArgumentError(
                "This feed cursor has expired: load the feed again from the first page."
            )
        if found.ids:
            visible = {
                post.id
                for post in await feed_sql.fetch_feed_visible_posts(deps.db, viewer_id, found.ids)
            }
            items += [
                (encode(FeedSnapshotCursor(cursor.snapshot_id, offset + index + 1)), post_id)
                for index, post_id in enumerate(found.ids)
                if post_id in visible
            ]
            positions |= {post_id: offset + index for index, post_id in enumerate(found.ids)}
            offset += len(found.ids)
        if len(items) > limit:
            break
        if offset >= found.total:
            if found.window_tail is not None:
                items += await _tail_items(
                    deps, viewer_id, found.window_tail, limit + 1 - len(items)
                )
            break
    page = page_of(items, limit)
    served = None
    if deps.log_served_pages:
        served = _snapshot_page_log(viewer_id, cursor, page, positions, now)
    return RankedPage(page.edges, page.has_next_page, served)


def _snapshot_page_log(
    viewer_id: int,
    cursor: FeedSnapshotCursor,
    page: Page[int],
    positions: Mapping[int, int],
    now: datetime,
) -> SnapshotPageLog | None:
    """What a page served from a snapshot logs: its posts from the window (not the
    time-ordered tail below it), by their window positions (their rows, stored by the first
    page, are copied by the log's script). Page id: the snapshot's, then `.` and the page's
    first position. Pure."""
    served = [post_id for _, post_id in page.edges if post_id in positions]
    if not served:
        return None
    return SnapshotPageLog(
        page_id=f"{cursor.snapshot_id}.{cursor.offset}",
        snapshot_id=cursor.snapshot_id,
        viewer_id=viewer_id,
        served_ms=int(now.timestamp() * 1000),
        post_ids=served,
        window_positions=[positions[post_id] for post_id in served],
        feature_names=features_.FEATURE_NAMES,
    )


async def _tail_items(
    deps: FeedDeps, viewer_id: int, below: FeedKey, count: int
) -> list[tuple[str, int]]:
    posts = (await collect_chronological(deps, viewer_id, before=below, limit=count)).posts
    return [(encode(FeedTailCursor(*post.key)), post.id) for post in posts]
