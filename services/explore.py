"""Explore: recent popular posts from accounts the viewer does not follow (docs/explore.md).

The first page ranks a bounded candidate window once (the newest `candidates` posts of the last
`window`), spreads authors out, and stores the order as a snapshot in Redis (with a TTL); later
pages read positions from it, so new posts and changing counts never move a post across a page
boundary: paging never repeats or skips. Posts deleted meanwhile are dropped at read time.
"""

from __future__ import annotations

import secrets
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from redis.asyncio import Redis

from services.cursors import ExploreCursor, decode, encode
from services.pagination import InvalidArgumentError, Page, check_page_size
from storage import explore_snapshots
from storage.pg import Db
from storage.pg import explore as explore_store
from storage.pg import posts as post_store
from storage.pg.explore import ExploreCandidate
from storage.pg.posts import PostRecord

GRAVITY = 1.8
_SNAPSHOT_ID_LENGTH = 12
_SLACK = 8  # extra ids read per page, to fill in for posts deleted since the snapshot


@dataclass(frozen=True, slots=True)
class ExploreConfig:
    window: timedelta = timedelta(days=7)
    candidates: int = 1000
    per_author: int = 2
    """At most this many posts of one author ..."""
    spread: int = 30
    """... in any run of this many consecutive positions (so on any page of up to `spread`)."""
    snapshot_ttl_seconds: int = 1800


@dataclass(frozen=True, slots=True)
class ExploreDeps:
    db: Db
    redis: Redis
    config: ExploreConfig = field(default_factory=ExploreConfig)


def gravity_score(candidate: ExploreCandidate, now: datetime) -> float:
    """(likes + 2 * comments + 1) / (age in hours + 2) ** 1.8 (Hacker News style)."""
    age_hours = max((now - candidate.published_at).total_seconds(), 0.0) / 3600
    points = candidate.like_count + 2 * candidate.comment_count + 1
    return float(points / (age_hours + 2) ** GRAVITY)


def rank_explore(
    candidates: Sequence[ExploreCandidate], now: datetime, *, per_author: int, spread: int
) -> list[int]:
    """Ids by gravity (ties: newest, then highest id), reordered so that no `spread` consecutive
    positions hold more than `per_author` posts of one author: a post that would break the rule
    waits for the first position where it does not; posts that never fit are left out."""
    ranked = sorted(
        candidates,
        key=lambda c: (gravity_score(c, now), c.published_at, c.id),
        reverse=True,
    )
    return _spread_authors(ranked, per_author=per_author, spread=spread)


def _spread_authors(ranked: list[ExploreCandidate], *, per_author: int, spread: int) -> list[int]:
    placed: list[int] = []
    recent: deque[int] = deque()  # authors of the last spread - 1 placed posts
    in_recent: Counter[int] = Counter()
    waiting: dict[int, deque[tuple[int, ExploreCandidate]]] = {}
    position = 0
    while True:
        best: tuple[int, ExploreCandidate] | None = None
        for author_id, queue in waiting.items():
            if in_recent[author_id] < per_author and (best is None or queue[0][0] < best[0]):
                best = queue[0]
        while position < len(ranked) and (best is None or position < best[0]):
            candidate = ranked[position]
            if in_recent[candidate.author_id] < per_author:
                best = (position, candidate)
                position += 1
                break
            waiting.setdefault(candidate.author_id, deque()).append((position, candidate))
            position += 1
        if best is None:
            return placed
        chosen = best[1]
        held = waiting.get(chosen.author_id)
        if held and held[0][1] is chosen:
            held.popleft()
            if not held:
                del waiting[chosen.author_id]
        placed.append(chosen.id)
        recent.append(chosen.author_id)
        in_recent[chosen.author_id] += 1
        if len(recent) >= spread:
            in_recent[recent.popleft()] -= 1


async def read_explore(
    deps: ExploreDeps, viewer_id: int | None, *, first: int, after: str | None, now: datetime
) -> Page[PostRecord]:
    """One explore page for the viewer (None: anonymous, the global list).

    Raises InvalidArgumentError for a bad `first` (0..spread) or cursor, or an expired snapshot.
    Side effects: the first page (no `after`) stores a snapshot in Redis with a TTL.
    """
    limit = check_page_size(first)
    if limit > deps.config.spread:
        raise InvalidArgumentError(f"`first` must be between 0 and {deps.config.spread}.")
    if after is None:
        snapshot_id, offset = await _take_snapshot(deps, viewer_id, now), 0
    else:
        snapshot_id, offset = _decode_cursor(after)
    found = await explore_snapshots.read_snapshot(
        deps.redis, viewer_id, snapshot_id, offset=offset, count=limit + 1 + _SLACK
    )
    if found is None:
        raise InvalidArgumentError("This explore cursor has expired: load explore again.")
    # The snapshot is filtered at read by the rule as it stands now (services.visibility, in
    # SQL): posts deleted, or of accounts blocked or made private since, are left out.
    records = {
        post.id: post
        for post in await post_store.fetch_visible_posts_by_ids(deps.db, found.ids, viewer_id)
        if post.status == "PUBLISHED"
    }
    items = [
        (encode(ExploreCursor(snapshot_id, offset + index + 1)), records[post_id])
        for index, post_id in enumerate(found.ids)
        if post_id in records
    ]
    more_stored = offset + len(found.ids) < found.total
    return Page(edges=items[:limit], has_next_page=len(items) > limit or more_stored)


async def _take_snapshot(deps: ExploreDeps, viewer_id: int | None, now: datetime) -> str:
    config = deps.config
    candidates = await explore_store.fetch_explore_candidates(
        deps.db, viewer_id, since=now - config.window, limit=config.candidates
    )
    ranked = rank_explore(candidates, now, per_author=config.per_author, spread=config.spread)
    snapshot_id = secrets.token_urlsafe(9)
    await explore_snapshots.save_snapshot(
        deps.redis, viewer_id, snapshot_id, ranked, ttl_seconds=config.snapshot_ttl_seconds
    )
    return snapshot_id


def _decode_cursor(after: str) -> tuple[str, int]:
    cursor = decode(after, ExploreCursor)
    if len(cursor.snapshot_id) > _SNAPSHOT_ID_LENGTH:
        raise InvalidArgumentError("`after` is not a cursor of this list.")
    return cursor.snapshot_id, cursor.offset
