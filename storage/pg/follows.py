"""Queries on `follows` (the social graph) and the follow counters on `users`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from storage.pg import Db, qualified
from storage.pg.users import USER_COLUMNS, UserRecord, user_from_row
from storage.pg.visibility import not_blocked_sql, visible_author_sql

FollowCursor = tuple[datetime, int]
"""Keyset position in a follow list: (followed at, user id), both descending."""

_USER_COLUMNS_OF_U = qualified(USER_COLUMNS, "u")
_LISTED = f"{visible_author_sql('$1', '$5')} AND {not_blocked_sql('u.id', '$5')}"
"""The rule of a follow list ($1: its owner, $5: the viewer): the viewer may see the owner's
content, and each listed user (storage.pg.visibility)."""


async def lock_pair(db: Db, follower_id: int, followee_id: int) -> set[int]:
    """Lock both users' rows (FOR NO KEY UPDATE, in id order) for the rest of the transaction;
    the ids that exist.

    Take it before writing anything that references the two users: the foreign-key checks of
    later inserts then find the rows already held, so no transaction first holds a weak lock on
    a user and later upgrades it (the upgrade queues behind whoever waits for that row, which
    deadlocked A following B while B followed A and others followed both).
    """
    rows = await db.fetch(
        "SELECT id FROM users WHERE id IN ($1, $2) ORDER BY id FOR NO KEY UPDATE",
        follower_id,
        followee_id,
    )
    return {row["id"] for row in rows}


async def insert_follow(db: Db, follower_id: int, followee_id: int) -> bool:
    """Record that follower follows followee; False (nothing written) when it already did."""
    status = await db.execute(
        "INSERT INTO follows (follower_id, followee_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        follower_id,
        followee_id,
    )
    return status == "INSERT 0 1"


async def delete_follow(db: Db, follower_id: int, followee_id: int) -> bool:
    """Remove the follow; False when there was none."""
    status = await db.execute(
        "DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2",
        follower_id,
        followee_id,
    )
    return status == "DELETE 1"


async def adjust_follow_counts(db: Db, follower_id: int, followee_id: int, delta: int) -> None:
    """Add `delta` to the follower's following_count and the followee's follower_count (the
    caller holds both rows through lock_pair)."""
    await db.execute(
        """
        UPDATE users
           SET following_count = following_count + CASE WHEN id = $1 THEN $3 ELSE 0 END,
               follower_count = follower_count + CASE WHEN id = $2 THEN $3 ELSE 0 END
         WHERE id IN ($1, $2)
        """,
        follower_id,
        followee_id,
        delta,
    )


async def fetch_followers_page(
    db: Db, user_id: int, viewer_id: int | None, *, limit: int, after: FollowCursor | None
) -> list[tuple[FollowCursor, UserRecord]]:
    """Up to `limit` followers of `user_id` that the viewer may see, most recent first, after
    the keyset `after` (none when the viewer may not see the user's content: _LISTED)."""
    rows = await db.fetch(
        f"""
        SELECT f.created_at AS followed_at, {_USER_COLUMNS_OF_U}
          FROM follows f JOIN users u ON u.id = f.follower_id
         WHERE f.followee_id = $1 AND {_LISTED}
           AND ($2::timestamptz IS NULL OR (f.created_at, f.follower_id) < ($2, $3))
         ORDER BY f.created_at DESC, f.follower_id DESC
         LIMIT $4
        """,
        user_id,
        after[0] if after else None,
        after[1] if after else None,
        limit,
        viewer_id,
    )
    return [((row["followed_at"], row["id"]), user_from_row(row)) for row in rows]


async def fetch_following_page(
    db: Db, user_id: int, viewer_id: int | None, *, limit: int, after: FollowCursor | None
) -> list[tuple[FollowCursor, UserRecord]]:
    """Up to `limit` accounts `user_id` follows that the viewer may see, most recent first,
    after the keyset `after` (as fetch_followers_page)."""
    rows = await db.fetch(
        f"""
        SELECT f.created_at AS followed_at, {_USER_COLUMNS_OF_U}
          FROM follows f JOIN users u ON u.id = f.followee_id
         WHERE f.follower_id = $1 AND {_LISTED}
           AND ($2::timestamptz IS NULL OR (f.created_at, f.followee_id) < ($2, $3))
         ORDER BY f.created_at DESC, f.followee_id DESC
         LIMIT $4
        """,
        user_id,
        after[0] if after else None,
        after[1] if after else None,
        limit,
        viewer_id,
    )
    return [((row["followed_at"], row["id"]), user_from_row(row)) for row in rows]


async def fetch_followees_among(db: Db, follower_id: int, candidates: Sequence[int]) -> set[int]:
    """Which of `candidates` `follower_id` follows (one query for any number of candidates)."""
    rows = await db.fetch(
        """
        SELECT followee_id FROM follows
         WHERE follower_id = $1 AND followee_id = ANY($2::bigint[])
        """,
        follower_id,
        candidates,
    )
    return {row["followee_id"] for row in rows}


async def fetch_followers_among(db: Db, followee_id: int, candidates: Sequence[int]) -> set[int]:
    """Which of `candidates` follow `followee_id` (one query for any number of candidates)."""
    rows = await db.fetch(
        """
        SELECT follower_id FROM follows
         WHERE followee_id = $1 AND follower_id = ANY($2::bigint[])
        """,
        followee_id,
        candidates,
    )
    return {row["follower_id"] for row in rows}
