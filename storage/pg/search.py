"""Search queries on PostgreSQL: people by prefix, captions by full text (english stemming on the
generated `posts.caption_tsv`, relevance among the most recent matches: docs/search.md), and the
pages a search index is rebuilt from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.pg import Db
from storage.pg.hashtags import prefix_range
from storage.pg.users import USER_COLUMNS, UserRecord, user_from_row

_NOTHING = ("", "")  # an empty range: `x ~>=~ '' AND x ~<~ ''` matches no row


@dataclass(frozen=True, slots=True)
class CaptionHit:
    post_id: int
    rank: float
    """ts_rank, a float4 (exact as a Python float, so it round-trips through a cursor)."""
    published_at: datetime


@dataclass(frozen=True, slots=True)
class IndexablePost:
    id: int
    author_id: int
    caption: str | None
    published_at: datetime


async def search_users_by_prefix(
    db: Db, *, username_prefix: str, name_prefix: str, limit: int
) -> list[UserRecord]:
    """Users whose username starts with `username_prefix` or whose lower-cased full name starts
    with `name_prefix` (either may be empty: it matches nothing then). The exact username first,
    then the most followed."""
    user_low, user_high = prefix_range(username_prefix) if username_prefix else _NOTHING
    name_low, name_high = prefix_range(name_prefix) if name_prefix else _NOTHING
    rows = await db.fetch(
        f"""
        SELECT {USER_COLUMNS} FROM (
            SELECT {USER_COLUMNS} FROM users WHERE username ~>=~ $1 AND username ~<~ $2
            UNION
            SELECT {USER_COLUMNS} FROM users
             WHERE full_name IS NOT NULL AND lower(full_name) ~>=~ $3 AND lower(full_name) ~<~ $4
        ) found
         ORDER BY username = $1 DESC, follower_count DESC, username
         LIMIT $5
        """,
        user_low,
        user_high,
        name_low,
        name_high,
        limit,
    )
    return [user_from_row(row) for row in rows]


async def search_captions(
    db: Db,
    tsquery: str,
    *,
    limit: int,
    after: tuple[float, datetime, int] | None,
    as_of: datetime | None,
    candidates: int,
) -> list[CaptionHit]:
    """Published posts whose caption matches `tsquery` (to_tsquery syntax, built from sanitized
    words by the caller), by relevance then newest, after the keyset (rank, published at, id).

    Relevance is ranked among the `candidates` most recent matches published at or before
    `as_of` (None: no bound), found by the caption_search_candidates function (migration 0008):
    with fewer matches than that, among all of them.
    """
    rows = await db.fetch(
        """
        SELECT post_id, rank, published_at
          FROM caption_search_candidates(to_tsquery('english', $1), $2, $3)
         WHERE $4::real IS NULL OR (rank, published_at, post_id) < ($4::real, $5, $6)
         ORDER BY rank DESC, published_at DESC, post_id DESC
         LIMIT $7
        """,
        tsquery,
        as_of,
        candidates,
        after[0] if after else None,
        after[1] if after else None,
        after[2] if after else None,
        limit,
    )
    return [CaptionHit(row["post_id"], row["rank"], row["published_at"]) for row in rows]


async def fetch_indexable_posts(
    db: Db, *, after_id: int, limit: int, ids: Sequence[int] | None = None
) -> list[IndexablePost]:
    """Published posts in id order after `after_id` (all of them, or those among `ids`)."""
    rows = await db.fetch(
        """
        SELECT id, author_id, caption, published_at FROM posts
         WHERE status = 'PUBLISHED' AND id > $1
           AND ($3::bigint[] IS NULL OR id = ANY($3::bigint[]))
         ORDER BY id LIMIT $2
        """,
        after_id,
        limit,
        ids,
    )
    return [IndexablePost(**dict(row)) for row in rows]


async def fetch_users_page(db: Db, *, after_id: int, limit: int) -> list[UserRecord]:
    """Users in id order after `after_id` (for rebuilding a search index)."""
    rows = await db.fetch(
        f"SELECT {USER_COLUMNS} FROM users WHERE id > $1 ORDER BY id LIMIT $2", after_id, limit
    )
    return [user_from_row(row) for row in rows]


async def count_indexable(db: Db) -> tuple[int, int, int]:
    """(published posts, users, tags in use): the size of a full reindex."""
    row = await db.fetchrow(
        """
        SELECT (SELECT count(*) FROM posts WHERE status = 'PUBLISHED') AS posts,
               (SELECT count(*) FROM users) AS users,
               (SELECT count(*) FROM hashtags WHERE post_count > 0) AS hashtags
        """
    )
    assert row is not None
    return row["posts"], row["users"], row["hashtags"]
