"""Queries on `likes`. The primary key (post, user) makes a like idempotent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from storage.pg import Db, qualified
from storage.pg.users import USER_COLUMNS, UserRecord, user_from_row

LikeCursor = tuple[datetime, int]
"""Keyset position in a likers list: (liked at, user id), both descending."""

_USER_COLUMNS_OF_U = qualified(USER_COLUMNS, "u")


async def insert_like(db: Db, post_id: int, user_id: int) -> int | None:
    """Record the like of a PUBLISHED post and return the post's author; None (nothing written)
    when it existed already or the post is not published."""
    author_id = await db.fetchval(
        """
        INSERT INTO likes (post_id, user_id)
        SELECT $1, $2 FROM posts WHERE id = $1 AND status = 'PUBLISHED'
        ON CONFLICT DO NOTHING
        RETURNING (SELECT author_id FROM posts WHERE id = $1)
        """,
        post_id,
        user_id,
    )
    return author_id if isinstance(author_id, int) else None


async def delete_like(db: Db, post_id: int, user_id: int) -> int | None:
    """Remove the like and return the post's author; None when there was no like."""
    author_id = await db.fetchval(
        """
        DELETE FROM likes WHERE post_id = $1 AND user_id = $2
        RETURNING (SELECT author_id FROM posts WHERE id = $1)
        """,
        post_id,
        user_id,
    )
    return author_id if isinstance(author_id, int) else None


async def count_likes(db: Db, post_ids: Sequence[int]) -> dict[int, int]:
    """Exact like counts of these posts (0 for posts nobody liked)."""
    rows = await db.fetch(
        """
        SELECT post_id, count(*) AS likes FROM likes
         WHERE post_id = ANY($1::bigint[]) GROUP BY post_id
        """,
        post_ids,
    )
    counts = dict.fromkeys(post_ids, 0)
    counts.update({row["post_id"]: row["likes"] for row in rows})
    return counts


async def fetch_likers_page(
    db: Db, post_id: int, *, limit: int, after: LikeCursor | None
) -> list[tuple[LikeCursor, UserRecord]]:
    """Who liked the post, most recent first, after the keyset `after`."""
    rows = await db.fetch(
        f"""
        SELECT l.created_at AS liked_at, {_USER_COLUMNS_OF_U}
          FROM likes l JOIN users u ON u.id = l.user_id
         WHERE l.post_id = $1
           AND ($2::timestamptz IS NULL OR (l.created_at, l.user_id) < ($2, $3))
         ORDER BY l.created_at DESC, l.user_id DESC
         LIMIT $4
        """,
        post_id,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [((row["liked_at"], row["id"]), user_from_row(row)) for row in rows]
