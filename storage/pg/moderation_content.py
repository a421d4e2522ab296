"""What moderation changes on content and accounts: the moderation_state of posts, comments and
media (read by the visibility rule: storage.pg.visibility.not_held_sql), media's sensitive
flag, and accounts' strikes. Counters stay exact: a post held back leaves its author's
post_count, a comment its post's comment_count, and they come back with it."""

from __future__ import annotations

from typing import Literal

from storage.pg import Db

ContentKind = Literal["POST", "COMMENT", "MEDIA"]
_CONTENT_KINDS: tuple[ContentKind, ...] = ("POST", "COMMENT", "MEDIA")


def content_kind(kind: str) -> ContentKind:
    """`kind` as a ContentKind; ValueError for USER (an account has no moderation_state)."""
    for known in _CONTENT_KINDS:
        if kind == known:
            return known
    raise ValueError(f"{kind} is not content")


_SET_STATE: dict[ContentKind, str] = {
    "POST": """
        WITH before AS (
            SELECT id, author_id, status, moderation_state FROM posts WHERE id = $1 FOR UPDATE
        ), changed AS (
            UPDATE posts p SET moderation_state = $2 FROM before WHERE p.id = before.id
        ), counted AS (
            UPDATE users u
               SET post_count = u.post_count + CASE WHEN $2::text IS NULL THEN 1 ELSE -1 END
              FROM before
             WHERE u.id = before.author_id AND before.status = 'PUBLISHED'
               AND (before.moderation_state IS NULL) <> ($2::text IS NULL)
        )
        SELECT moderation_state FROM before""",
    "COMMENT": """
        WITH before AS (
            SELECT id, post_id, moderation_state FROM comments WHERE id = $1 FOR UPDATE
        ), changed AS (
            UPDATE comments c SET moderation_state = $2 FROM before WHERE c.id = before.id
        ), counted AS (
            UPDATE posts p
               SET comment_count = p.comment_count + CASE WHEN $2::text IS NULL THEN 1 ELSE -1 END
              FROM before
             WHERE p.id = before.post_id
               AND (before.moderation_state IS NULL) <> ($2::text IS NULL)
        )
        SELECT moderation_state FROM before""",
    "MEDIA": """
        WITH before AS (
            SELECT id, moderation_state FROM media WHERE id = $1 FOR UPDATE
        ), changed AS (
            UPDATE media m SET moderation_state = $2 FROM before WHERE m.id = before.id
        )
        SELECT moderation_state FROM before""",
}


async def set_moderation_state(
    db: Db, kind: ContentKind, content_id: int, state: str | None
) -> tuple[bool, str | None]:
    """Give the post, comment or media item `state` (HIDDEN_PENDING_REVIEW, REMOVED, or None
    for nothing) and keep its counter exact, in one statement; (it exists, its state before)."""
    row = await db.fetchrow(_SET_STATE[kind], content_id, state)
    if row is None:
        return False, None
    return True, row["moderation_state"]


async def fetch_moderation_state(db: Db, kind: ContentKind, content_id: int) -> str | None:
    table = {"POST": "posts", "COMMENT": "comments", "MEDIA": "media"}[kind]
    state: str | None = await db.fetchval(
        f"SELECT moderation_state FROM {table} WHERE id = $1", content_id
    )
    return state


async def set_sensitive(db: Db, media_id: int, sensitive: bool) -> bool:
    """Mark the media item sensitive (or not); False when it does not exist."""
    status = await db.execute("UPDATE media SET sensitive = $2 WHERE id = $1", media_id, sensitive)
    return status == "UPDATE 1"


async def add_strikes(db: Db, user_id: int, delta: int) -> int | None:
    """Add `delta` (±1) to the account's strikes (never below 0); the new count, None when the
    account does not exist."""
    count: int | None = await db.fetchval(
        "UPDATE users SET strike_count = greatest(strike_count + $2, 0) WHERE id = $1"
        " RETURNING strike_count",
        user_id,
        delta,
    )
    return count


async def fetch_strike_counts(db: Db, user_ids: list[int]) -> dict[int, int]:
    rows = await db.fetch(
        "SELECT id, strike_count FROM users WHERE id = ANY($1::bigint[])", user_ids
    )
    return {row["id"]: row["strike_count"] for row in rows}
