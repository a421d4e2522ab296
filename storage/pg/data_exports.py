"""Queries on `data_exports` and the reads of an account's own data that an export writes
(services/data_export.py). Every read is keyset-paged: an export never holds a whole table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from storage.pg import Db
from storage.pg.visibility import not_blocked_sql, not_muted_sql


class ExportRecord(NamedTuple):
    id: int
    user_id: int
    status: str
    progress: int
    blob_key: str | None
    byte_size: int | None
    created_at: datetime
    finished_at: datetime | None
    expires_at: datetime | None


_COLUMNS = ", ".join(ExportRecord._fields)


async def insert_export(db: Db, user_id: int) -> ExportRecord | None:
    """A QUEUED export; None (nothing written) while another of the user's is QUEUED or RUNNING
    (the partial unique index data_exports_one_running_idx)."""
    row = await db.fetchrow(
        f"INSERT INTO data_exports (user_id) VALUES ($1) ON CONFLICT DO NOTHING"
        f" RETURNING {_COLUMNS}",
        user_id,
    )
    return None if row is None else ExportRecord(*row)


async def fetch_latest_export(db: Db, user_id: int) -> ExportRecord | None:
    row = await db.fetchrow(
        f"SELECT {_COLUMNS} FROM data_exports WHERE user_id = $1 ORDER BY id DESC LIMIT 1",
        user_id,
    )
    return None if row is None else ExportRecord(*row)


async def fetch_export(db: Db, export_id: int) -> ExportRecord | None:
    row = await db.fetchrow(f"SELECT {_COLUMNS} FROM data_exports WHERE id = $1", export_id)
    return None if row is None else ExportRecord(*row)


async def mark_running(db: Db, export_id: int) -> bool:
    """QUEUED (or RUNNING: a retried job) becomes RUNNING at 0 %; False otherwise."""
    status = await db.execute(
        "UPDATE data_exports SET status = 'RUNNING', progress = 0"
        " WHERE id = $1 AND status IN ('QUEUED', 'RUNNING')",
        export_id,
    )
    return status == "UPDATE 1"


async def set_progress(db: Db, export_id: int, progress: int) -> None:
    await db.execute(
        "UPDATE data_exports SET progress = $2 WHERE id = $1 AND status = 'RUNNING'",
        export_id,
        progress,
    )


async def mark_ready(
    db: Db, export_id: int, *, blob_key: str, byte_size: int, expires_at: datetime
) -> bool:
    status = await db.execute(
        """
        UPDATE data_exports SET status = 'READY', progress = 100, blob_key = $2, byte_size = $3,
                                finished_at = now(), expires_at = $4
         WHERE id = $1 AND status = 'RUNNING'
        """,
        export_id,
        blob_key,
        byte_size,
        expires_at,
    )
    return status == "UPDATE 1"


async def mark_failed(db: Db, export_id: int) -> None:
    await db.execute(
        "UPDATE data_exports SET status = 'FAILED', finished_at = now()"
        " WHERE id = $1 AND status IN ('QUEUED', 'RUNNING')",
        export_id,
    )


async def fetch_expired_exports(db: Db, *, limit: int) -> list[tuple[int, str]]:
    rows = await db.fetch(
        "SELECT id, blob_key FROM data_exports WHERE status = 'READY' AND expires_at <= now()"
        " ORDER BY expires_at LIMIT $1",
        limit,
    )
    return [(row["id"], row["blob_key"]) for row in rows]


async def mark_expired(db: Db, export_ids: Sequence[int]) -> None:
    await db.execute(
        "UPDATE data_exports SET status = 'EXPIRED', blob_key = NULL WHERE id = ANY($1::bigint[])",
        export_ids,
    )


# --- the account's own data, page by page ---------------------------------------------------


async def fetch_profile(db: Db, user_id: int) -> dict[str, Any] | None:
    row = await db.fetchrow(
        """
        SELECT id, username, email, email_verified_at, full_name, bio, is_private,
               follower_count, following_count, post_count, created_at
          FROM users WHERE id = $1
        """,
        user_id,
    )
    return None if row is None else dict(row)


async def fetch_posts_page(db: Db, user_id: int, *, after: int, limit: int) -> list[dict[str, Any]]:
    """The user's posts that are not deleted, with their media (ids, file names, alt texts)."""
    rows = await db.fetch(
        """
        SELECT p.id, p.caption, p.status, p.like_count, p.comment_count, p.created_at,
               p.published_at,
               coalesce((SELECT json_agg(json_build_object(
                          'position', pm.position, 'media_id', m.id, 'kind', m.kind,
                          'original_filename', m.original_filename, 'alt_text', pm.alt_text,
                          'content_type', m.content_type, 'width', m.width,
                          'height', m.height, 'duration_seconds', m.duration_seconds)
                          ORDER BY pm.position)
                           FROM post_media pm JOIN media m ON m.id = pm.media_id
                          WHERE pm.post_id = p.id), '[]') AS media
          FROM posts p
         WHERE p.author_id = $1 AND p.status <> 'DELETED' AND p.id > $2
         ORDER BY p.id LIMIT $3
        """,
        user_id,
        after,
        limit,
    )
    return [dict(row) for row in rows]


async def fetch_comments_page(
    db: Db, user_id: int, *, after: int, limit: int
) -> list[dict[str, Any]]:
    """The user's own comments (the post is named by id only: whose it is stays out)."""
    rows = await db.fetch(
        "SELECT id, post_id, text, created_at FROM comments"
        " WHERE author_id = $1 AND id > $2 ORDER BY id LIMIT $3",
        user_id,
        after,
        limit,
    )
    return [dict(row) for row in rows]


async def fetch_likes_page(db: Db, user_id: int, *, after: int, limit: int) -> list[dict[str, Any]]:
    rows = await db.fetch(
        "SELECT post_id, created_at FROM likes WHERE user_id = $1 AND post_id > $2"
        " ORDER BY post_id LIMIT $3",
        user_id,
        after,
        limit,
    )
    return [dict(row) for row in rows]


async def fetch_follows_page(
    db: Db, user_id: int, *, following: bool, after: int, limit: int
) -> list[dict[str, Any]]:
    """Whom the user follows (or who follows them), by username, leaving out accounts the
    user may not see (a block either way, deactivated: storage.pg.visibility)."""
    mine, theirs = ("follower_id", "followee_id") if following else ("followee_id", "follower_id")
    rows = await db.fetch(
        f"""
        SELECT u.id, u.username, f.created_at
          FROM follows f JOIN users u ON u.id = f.{theirs}
         WHERE f.{mine} = $1 AND u.id > $2 AND {not_blocked_sql("u.id", "$1")}
         ORDER BY u.id LIMIT $3
        """,
        user_id,
        after,
        limit,
    )
    return [
        {"username": row["username"], "since": row["created_at"], "id": row["id"]} for row in rows
    ]


async def fetch_notifications_page(
    db: Db, user_id: int, *, after: int, limit: int
) -> list[dict[str, Any]]:
    """The user's notifications as they are shown to them (the latest actor named when the
    user may see them: storage.pg.notifications' rule)."""
    rows = await db.fetch(
        f"""
        SELECT n.id, n.kind, n.post_id, n.actor_count, n.created_at, n.read_at,
               u.username AS latest_actor
          FROM notifications n JOIN users u ON u.id = n.actor_id
         WHERE n.recipient_id = $1 AND n.id > $2
           AND {not_blocked_sql("n.actor_id", "n.recipient_id")}
           AND {not_muted_sql("n.actor_id", "n.recipient_id")}
         ORDER BY n.id LIMIT $3
        """,
        user_id,
        after,
        limit,
    )
    return [dict(row) for row in rows]


async def fetch_original_media_page(
    db: Db, user_id: int, *, after: int, limit: int
) -> list[tuple[int, str, str]]:
    """(media id, sealed original's key, original file name) of the user's media whose
    original is kept (not deleted: in a live post, a draft, or a profile picture's source)."""
    rows = await db.fetch(
        """
        SELECT id, original_key, original_filename FROM media
         WHERE owner_id = $1 AND id > $2 AND original_key IS NOT NULL AND status <> 'DELETED'
         ORDER BY id LIMIT $3
        """,
        user_id,
        after,
        limit,
    )
    return [(row["id"], row["original_key"], row["original_filename"]) for row in rows]


async def count_rows(db: Db, user_id: int) -> int:
    """About how many rows an export will write (for its progress)."""
    value = await db.fetchval(
        """
        SELECT (SELECT count(*) FROM posts WHERE author_id = $1 AND status <> 'DELETED')
             + (SELECT count(*) FROM comments WHERE author_id = $1)
             + (SELECT count(*) FROM likes WHERE user_id = $1)
             + (SELECT count(*) FROM follows WHERE follower_id = $1 OR followee_id = $1)
             + (SELECT count(*) FROM notifications WHERE recipient_id = $1)
             + (SELECT count(*) FROM media WHERE owner_id = $1 AND original_key IS NOT NULL
                                             AND status <> 'DELETED')
        """,
        user_id,
    )
    return int(value or 0)
