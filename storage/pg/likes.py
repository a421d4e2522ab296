"""Queries on `likes`. The primary key (post, user) makes a like idempotent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.pg import Db, qualified
from storage.pg.users import USER_COLUMNS, UserRecord, user_from_row
from storage.pg.visibility import not_blocked_sql, visible_post_sql

LikeCursor = tuple[datetime, int]
"""Keyset position in a likers list: (liked at, user id), both descending."""

_USER_COLUMNS_OF_U = qualified(USER_COLUMNS, "u")


@dataclass(frozen=True, slots=True)
class LikeChange:
    """A like written or removed: the post's author, and the author's LIKE notification group
    when the change altered it (None: unchanged, or the liker is the author)."""

    author_id: int
    notification_id: int | None


async def insert_like(
    db: Db, post_id: int, user_id: int, *, notification_window: timedelta
) -> LikeChange | None:
    """Record the like of a PUBLISHED post and, unless the liker wrote the post, add the liker
    to the author's LIKE notification (`notify_event`, aggregating within
    `notification_window`): one statement, so both or neither. None (nothing written) when the
    like existed already or the post is not published."""
    row = await db.fetchrow(
        """
        WITH liked AS (
            INSERT INTO likes (post_id, user_id)
            SELECT $1, $2 FROM posts WHERE id = $1 AND status = 'PUBLISHED'
            ON CONFLICT DO NOTHING
            RETURNING (SELECT author_id FROM posts WHERE id = $1) AS author_id
        )
        SELECT author_id,
               CASE WHEN author_id <> $2 THEN  -- CASE: the function never runs otherwise
                   (SELECT event FROM notify_event(author_id, 'LIKE', $1, NULL, $2, 0, $3)
                                   AS event)
               END AS event
          FROM liked
        """,
        post_id,
        user_id,
        notification_window,
    )
    if row is None:
        return None
    event = row["event"]  # (notification id, changed) or None
    changed = event is not None and event[1]
    return LikeChange(row["author_id"], event[0] if changed else None)


async def delete_like(db: Db, post_id: int, user_id: int) -> LikeChange | None:
    """Remove the like of a PUBLISHED post and take the liker out of the author's LIKE
    notification (`retract_event`): one statement. None (nothing changed) when there was no
    like or the post is not published (a deleted post's likes stay as they were)."""
    row = await db.fetchrow(
        """
        WITH unliked AS (
            DELETE FROM likes
             WHERE post_id = $1 AND user_id = $2
               AND EXISTS (SELECT 1 FROM posts WHERE id = $1 AND status = 'PUBLISHED')
            RETURNING (SELECT author_id FROM posts WHERE id = $1) AS author_id
        )
        SELECT unliked.author_id, event.notification_id
          FROM unliked
          LEFT JOIN LATERAL retract_event(unliked.author_id, 'LIKE', $1, $2, 0) AS event ON true
        """,
        post_id,
        user_id,
    )
    return None if row is None else LikeChange(row["author_id"], row["notification_id"])


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
    db: Db, post_id: int, viewer_id: int | None, *, limit: int, after: LikeCursor | None
) -> list[tuple[LikeCursor, UserRecord]]:
    """Who liked the post, most recent first, after the keyset `after`, as the viewer may see
    them: none unless the viewer may see the post; likers with a block between them and the
    viewer left out (storage.pg.visibility)."""
    rows = await db.fetch(
        f"""
        SELECT l.created_at AS liked_at, {_USER_COLUMNS_OF_U}
          FROM likes l JOIN users u ON u.id = l.user_id
         WHERE l.post_id = $1
           AND EXISTS (SELECT 1 FROM posts p WHERE p.id = $1 AND {visible_post_sql("p", "$5")})
           AND {not_blocked_sql("u.id", "$5")}
           AND ($2::timestamptz IS NULL OR (l.created_at, l.user_id) < ($2, $3))
         ORDER BY l.created_at DESC, l.user_id DESC
         LIMIT $4
        """,
        post_id,
        after[0] if after else None,
        after[1] if after else None,
        limit,
        viewer_id,
    )
    return [((row["liked_at"], row["id"]), user_from_row(row)) for row in rows]
