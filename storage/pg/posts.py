"""Queries on `posts` and `post_media`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

import asyncpg

from storage.pg import Db
from storage.pg.visibility import not_held_sql, visible_author_sql, visible_post_sql

PostCursor = tuple[datetime, int]
"""Keyset position in a profile grid: (published at, post id), both descending."""


class PostRecord(NamedTuple):
    id: int
    author_id: int
    caption: str | None
    status: str
    like_count: int
    """The last flushed snapshot; live counts come from Redis (see storage.counters)."""
    comment_count: int
    created_at: datetime
    published_at: datetime | None
    moderation_state: str | None = None
    """HIDDEN_PENDING_REVIEW or REMOVED: moderation hides the post from everyone, its author
    included (docs/moderation.md); None: nothing."""


POST_COLUMNS = ", ".join(PostRecord._fields)
"""The columns of a PostRecord, in its order (post views read them by position)."""


def post_from_row(row: asyncpg.Record) -> PostRecord:
    return PostRecord(
        id=row["id"],
        author_id=row["author_id"],
        caption=row["caption"],
        status=row["status"],
        like_count=row["like_count"],
        comment_count=row["comment_count"],
        created_at=row["created_at"],
        published_at=row["published_at"],
        moderation_state=row["moderation_state"],
    )


async def insert_post(db: Db, *, author_id: int, caption: str | None) -> PostRecord:
    row = await db.fetchrow(
        f"INSERT INTO posts (author_id, caption) VALUES ($1, $2) RETURNING {POST_COLUMNS}",
        author_id,
        caption,
    )
    assert row is not None
    return post_from_row(row)


async def insert_post_media(
    db: Db, post_id: int, media_ids: Sequence[int], alt_texts: Sequence[str | None]
) -> bool:
    """Attach the media in order; False (nothing written) when one is already in a post."""
    status = await db.execute(
        """
        INSERT INTO post_media (post_id, position, media_id, alt_text)
        SELECT $1, item.position - 1, item.media_id, item.alt_text
          FROM unnest($2::bigint[], $3::text[]) WITH ORDINALITY
               AS item(media_id, alt_text, position)
        ON CONFLICT (media_id) DO NOTHING
        """,
        post_id,
        media_ids,
        alt_texts,
    )
    return status == f"INSERT 0 {len(media_ids)}"


async def fetch_posts_by_ids(db: Db, ids: Sequence[int]) -> list[PostRecord]:
    """The posts among `ids` that exist (any status), in no particular order."""
    rows = await db.fetch(f"SELECT {POST_COLUMNS} FROM posts WHERE id = ANY($1::bigint[])", ids)
    return [post_from_row(row) for row in rows]


async def fetch_visible_posts_by_ids(
    db: Db, ids: Sequence[int], viewer_id: int | None
) -> list[PostRecord]:
    """The posts among `ids` that the viewer may see (storage.pg.visibility.visible_post_sql),
    in no particular order."""
    rows = await db.fetch(
        f"SELECT {POST_COLUMNS} FROM posts p"
        f" WHERE p.id = ANY($1::bigint[]) AND {visible_post_sql('p', '$2')}",
        ids,
        viewer_id,
    )
    return [post_from_row(row) for row in rows]


async def fetch_processing_posts_of_media(db: Db, media_id: int) -> list[int]:
    """Ids of PROCESSING posts that contain this media item."""
    rows = await db.fetch(
        """
        SELECT p.id FROM post_media pm JOIN posts p ON p.id = pm.post_id
         WHERE pm.media_id = $1 AND p.status = 'PROCESSING'
        """,
        media_id,
    )
    return [row["id"] for row in rows]


async def fetch_media_statuses_of_post(db: Db, post_id: int) -> list[str]:
    rows = await db.fetch(
        """
        SELECT m.status FROM post_media pm JOIN media m ON m.id = pm.media_id
         WHERE pm.post_id = $1
        """,
        post_id,
    )
    return [row["status"] for row in rows]


async def publish_post(db: Db, post_id: int) -> PostRecord | None:
    """PROCESSING -> PUBLISHED now, and the author's post_count + 1; None if not PROCESSING."""
    row = await db.fetchrow(
        f"""
        WITH published AS (
            UPDATE posts SET status = 'PUBLISHED', published_at = now()
             WHERE id = $1 AND status = 'PROCESSING'
            RETURNING {POST_COLUMNS}
        ), counted AS (
            UPDATE users SET post_count = post_count + 1
             WHERE id = (SELECT author_id FROM published)
        )
        SELECT * FROM published
        """,
        post_id,
    )
    return post_from_row(row) if row else None


async def end_post_unpublished(db: Db, post_id: int, status: str) -> bool:
    """PROCESSING -> REJECTED or FAILED (a media item was refused); False if not PROCESSING."""
    assert status in ("REJECTED", "FAILED")
    result = await db.execute(
        "UPDATE posts SET status = $2 WHERE id = $1 AND status = 'PROCESSING'", post_id, status
    )
    return result == "UPDATE 1"


async def mark_post_deleted(db: Db, post_id: int) -> str | None:
    """Mark the post DELETED; returns its previous status (None if absent or already deleted).

    In the same statement, a published post leaves its author's post_count (unless moderation
    took it out already: services.moderation_actions), and every notification about the post
    (likes, comments, mentions) is deleted.
    """
    row = await db.fetchrow(
        """
        WITH previous AS (
            SELECT id, author_id, status, moderation_state IS NOT NULL AS held
              FROM posts WHERE id = $1 AND status <> 'DELETED'
               FOR UPDATE
        ), deleted AS (
            UPDATE posts SET status = 'DELETED', deleted_at = now(), published_at = NULL
             WHERE id = (SELECT id FROM previous)
        ), counted AS (
            UPDATE users SET post_count = post_count - 1
             WHERE id = (SELECT author_id FROM previous WHERE status = 'PUBLISHED' AND NOT held)
        ), forgotten AS (
            DELETE FROM notifications WHERE post_id = (SELECT id FROM previous)
        )
        SELECT status FROM previous
        """,
        post_id,
    )
    return row["status"] if row else None


async def fetch_author_posts_page(
    db: Db, author_id: int, viewer_id: int | None, *, limit: int, after: PostCursor | None
) -> list[PostRecord]:
    """The author's published posts that moderation does not hold back, newest first (profile
    grid), after the keyset `after`; none when the viewer may not see the author's content
    (storage.pg.visibility)."""
    rows = await db.fetch(
        f"""
        SELECT {POST_COLUMNS} FROM posts
         WHERE author_id = $1 AND status = 'PUBLISHED' AND {not_held_sql("posts")}
           AND {visible_author_sql("$1", "$5")}
           AND ($2::timestamptz IS NULL OR (published_at, id) < ($2, $3))
         ORDER BY published_at DESC, id DESC
         LIMIT $4
        """,
        author_id,
        after[0] if after else None,
        after[1] if after else None,
        limit,
        viewer_id,
    )
    return [post_from_row(row) for row in rows]


async def update_like_counts(db: Db, counts: dict[int, int]) -> None:
    """Write flushed like counters into the posts' snapshots."""
    await db.execute(
        """
        UPDATE posts p SET like_count = c.like_count
          FROM unnest($1::bigint[], $2::integer[]) AS c(post_id, like_count)
         WHERE p.id = c.post_id AND p.like_count <> c.like_count
        """,
        list(counts),
        list(counts.values()),
    )
