"""Queries on `comments`, keeping `posts.comment_count` exact in the same transaction. Every
comment is read with its author's profile (one join): a page of comments shows who wrote each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from storage.pg import Db, qualified
from storage.pg.users import USER_COLUMNS, UserRecord, user_from_row
from storage.pg.visibility import not_blocked_sql, not_held_sql, visible_post_sql

COMMENT_COLUMNS = "id, post_id, author_id, text, created_at"
_AUTHOR_COLUMNS = qualified(USER_COLUMNS, "u", prefix="commenter_")
"""The author's profile, from `JOIN users u ON u.id = c.author_id` (read by comment_from_row)."""
_COMMENT_COLUMNS_OF_C = qualified(COMMENT_COLUMNS, "c")

CommentCursor = tuple[datetime, int]
"""Keyset position in a post's comments: (created at, comment id), both ascending."""


@dataclass(frozen=True, slots=True)
class CommentRecord:
    id: int
    post_id: int
    author_id: int
    text: str
    created_at: datetime
    author: UserRecord


def comment_from_row(row: asyncpg.Record) -> CommentRecord:
    """The comment of a row with COMMENT_COLUMNS and _AUTHOR_COLUMNS."""
    return CommentRecord(
        id=row["id"],
        post_id=row["post_id"],
        author_id=row["author_id"],
        text=row["text"],
        created_at=row["created_at"],
        author=user_from_row(row, "commenter_"),
    )


async def insert_comment(db: Db, *, post_id: int, author_id: int, text: str) -> CommentRecord:
    """Insert the comment and count it on its post (run inside a transaction)."""
    row = await db.fetchrow(
        f"""
        WITH c AS (
             INSERT INTO comments (post_id, author_id, text) VALUES ($1, $2, $3)
             RETURNING {COMMENT_COLUMNS}
        )
        SELECT c.*, {_AUTHOR_COLUMNS} FROM c JOIN users u ON u.id = c.author_id
        """,
        post_id,
        author_id,
        text,
    )
    assert row is not None
    await db.execute("UPDATE posts SET comment_count = comment_count + 1 WHERE id = $1", post_id)
    return comment_from_row(row)


async def delete_comment(db: Db, comment_id: int) -> CommentRecord | None:
    """Delete the comment and uncount it (run inside a transaction; a comment moderation holds
    back is not counted already: services.moderation_actions); None if absent."""
    row = await db.fetchrow(
        f"""
        WITH c AS (
             DELETE FROM comments WHERE id = $1 RETURNING {COMMENT_COLUMNS}, moderation_state
        )
        SELECT c.*, {_AUTHOR_COLUMNS} FROM c JOIN users u ON u.id = c.author_id
        """,
        comment_id,
    )
    if row is None:
        return None
    if row["moderation_state"] is None:
        await db.execute(
            "UPDATE posts SET comment_count = comment_count - 1 WHERE id = $1", row["post_id"]
        )
    return comment_from_row(row)


async def fetch_comments_by_ids(db: Db, ids: Sequence[int]) -> list[CommentRecord]:
    """The comments among `ids` that exist, whoever may see them (for their author's own
    operations); reads on behalf of a viewer use fetch_visible_comments_by_ids."""
    rows = await db.fetch(
        f"""
        SELECT {_COMMENT_COLUMNS_OF_C}, {_AUTHOR_COLUMNS}
          FROM comments c JOIN users u ON u.id = c.author_id
         WHERE c.id = ANY($1::bigint[])
        """,
        ids,
    )
    return [comment_from_row(row) for row in rows]


_VISIBLE_COMMENT = (
    f"{visible_post_sql('p', '$2')} AND p.status = 'PUBLISHED'"
    f" AND {not_blocked_sql('c.author_id', '$2')}"
    f" AND {not_held_sql('c')}"
)
"""A comment `c` on post `p` is visible to viewer $2: its post is published and visible, a
block stands between the viewer and its author in neither way, and moderation does not hold
it back (storage.pg.visibility)."""


async def fetch_visible_comments_by_ids(
    db: Db, ids: Sequence[int], viewer_id: int | None
) -> list[CommentRecord]:
    """The comments among `ids` that the viewer may see (_VISIBLE_COMMENT), in no order."""
    rows = await db.fetch(
        f"""
        SELECT {_COMMENT_COLUMNS_OF_C}, {_AUTHOR_COLUMNS}
          FROM comments c JOIN posts p ON p.id = c.post_id JOIN users u ON u.id = c.author_id
         WHERE c.id = ANY($1::bigint[]) AND {_VISIBLE_COMMENT}
        """,
        ids,
        viewer_id,
    )
    return [comment_from_row(row) for row in rows]


async def fetch_comments_page(
    db: Db, post_id: int, viewer_id: int | None, *, limit: int, after: CommentCursor | None
) -> list[CommentRecord]:
    """The post's comments that the viewer may see (_VISIBLE_COMMENT), oldest first, after the
    keyset `after`."""
    rows = await db.fetch(
        f"""
        SELECT {_COMMENT_COLUMNS_OF_C}, {_AUTHOR_COLUMNS}
          FROM comments c JOIN posts p ON p.id = c.post_id JOIN users u ON u.id = c.author_id
         WHERE c.post_id = $1 AND {_VISIBLE_COMMENT.replace("$2", "$5")}
           AND ($2::timestamptz IS NULL OR (c.created_at, c.id) > ($2, $3))
         ORDER BY c.created_at, c.id
         LIMIT $4
        """,
        post_id,
        after[0] if after else None,
        after[1] if after else None,
        limit,
        viewer_id,
    )
    return [comment_from_row(row) for row in rows]


async def fetch_first_comments_of_posts(
    db: Db, post_ids: Sequence[int], viewer_id: int | None, *, limit: int
) -> dict[int, list[CommentRecord]]:
    """The first `limit` comments the viewer may see (_VISIBLE_COMMENT) of each of `post_ids`,
    oldest first, by post id (posts without any are left out): one statement for a page of
    posts, a short index range scan per post (LATERAL ... LIMIT)."""
    rows = await db.fetch(
        f"""
        SELECT {_COMMENT_COLUMNS_OF_C}, {_AUTHOR_COLUMNS}
          FROM unnest($1::bigint[]) AS wanted(id)
          JOIN posts p ON p.id = wanted.id
         CROSS JOIN LATERAL (
               SELECT {COMMENT_COLUMNS} FROM comments
                WHERE post_id = p.id AND {not_blocked_sql("author_id", "$2")}
                  AND {not_held_sql("comments")}
                ORDER BY created_at, id
                LIMIT $3
         ) c
          JOIN users u ON u.id = c.author_id
         WHERE {visible_post_sql("p", "$2")} AND p.status = 'PUBLISHED'
         ORDER BY c.post_id, c.created_at, c.id
        """,
        post_ids,
        viewer_id,
        limit,
    )
    found: dict[int, list[CommentRecord]] = {}
    for row in rows:
        found.setdefault(row["post_id"], []).append(comment_from_row(row))
    return found
