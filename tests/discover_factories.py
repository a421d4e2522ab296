"""Published posts for discover tests, written straight through SQL (controlled times/counts)."""

from __future__ import annotations

from datetime import datetime

from storage.pg import Db
from storage.pg import posts as post_store
from storage.pg.posts import PostRecord


async def make_published_post(
    db: Db,
    author_id: int,
    caption: str | None = None,
    *,
    published_at: datetime | None = None,
    likes: int = 0,
    comments: int = 0,
) -> PostRecord:
    """A PUBLISHED post (no media rows) with the given snapshot counts; author's post_count + 1."""
    post_id = await db.fetchval(
        """
        WITH post AS (
            INSERT INTO posts (author_id, caption, status, published_at, like_count, comment_count)
            VALUES ($1, $2, 'PUBLISHED', coalesce($3, now()), $4, $5) RETURNING id
        ), counted AS (UPDATE users SET post_count = post_count + 1 WHERE id = $1)
        SELECT id FROM post
        """,
        author_id,
        caption,
        published_at,
        likes,
        comments,
    )
    (post,) = await post_store.fetch_posts_by_ids(db, [post_id])
    return post
