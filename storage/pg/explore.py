"""Explore candidates: recent published posts by authors the viewer does not follow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.pg import Db
from storage.pg.visibility import visible_author_sql


@dataclass(frozen=True, slots=True)
class ExploreCandidate:
    id: int
    author_id: int
    published_at: datetime
    like_count: int
    """The flushed snapshot (at most a flush interval behind the live counter)."""
    comment_count: int


async def fetch_explore_candidates(
    db: Db, viewer_id: int | None, *, since: datetime, limit: int
) -> list[ExploreCandidate]:
    """The newest `limit` posts published since `since`, not by the viewer nor by anyone the
    viewer follows (anonymous: by anyone), and visible to the viewer (storage.pg.visibility:
    no private account, nobody with a block either way). Walks posts_published_idx newest
    first."""
    rows = await db.fetch(
        f"""
        SELECT p.id, p.author_id, p.published_at, p.like_count, p.comment_count
          FROM posts p
         WHERE p.status = 'PUBLISHED' AND p.published_at >= $2
           AND ($1::bigint IS NULL OR (
                p.author_id <> $1 AND NOT EXISTS (
                    SELECT 1 FROM follows f WHERE f.follower_id = $1 AND f.followee_id = p.author_id
                )))
           AND {visible_author_sql("p.author_id", "$1")}
         ORDER BY p.published_at DESC, p.id DESC
         LIMIT $3
        """,
        viewer_id,
        since,
        limit,
    )
    return [ExploreCandidate(**dict(row)) for row in rows]
