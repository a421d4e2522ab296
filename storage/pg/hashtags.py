"""Queries on `hashtags` and `post_hashtags`: exact counts, tag pages and prefix search."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from storage.pg import Db, qualified
from storage.pg.posts import POST_COLUMNS, PostRecord, post_from_row
from storage.pg.visibility import visible_post_sql

_POST_COLUMNS_OF_P = qualified(POST_COLUMNS, "p")


@dataclass(frozen=True, slots=True)
class HashtagRecord:
    id: int
    name: str
    post_count: int


def hashtag_from_row(row: asyncpg.Record) -> HashtagRecord:
    return HashtagRecord(id=row["id"], name=row["name"], post_count=row["post_count"])


async def ensure_hashtags(db: Db, names: Sequence[str]) -> None:
    """Create the tags that do not exist yet (with a count of 0)."""
    await db.execute(
        """
        INSERT INTO hashtags (name) SELECT DISTINCT unnest($1::text[]) ORDER BY 1
        ON CONFLICT (name) DO NOTHING
        """,
        names,
    )


async def lock_post_for_retagging(db: Db, post_id: int, names: Sequence[str]) -> None:
    """Before re-tagging a post (untag, then tag, in one transaction): lock the post's row, then
    every tag involved (those it has and those in `names`), in id order.

    Without this, two edits sharing tags deadlock: each would lock the tags it loses, then wait
    for the tags it gains that the other holds. Locking the post first also queues two edits of
    the same post one after the other (and orders them with the engagement trigger's post ->
    tag rows)."""
    await db.execute(
        """
        WITH post AS (
            SELECT id FROM posts WHERE id = $1 FOR UPDATE
        )
        SELECT id FROM hashtags
         WHERE name = ANY($2::text[])
            OR id IN (SELECT hashtag_id FROM post_hashtags
                       WHERE post_id = (SELECT id FROM post))
         ORDER BY id FOR UPDATE
        """,
        post_id,
        names,
    )


async def add_post_hashtags(
    db: Db, post_id: int, names: Sequence[str], published_at: datetime
) -> int:
    """Tag the post with `names` (existing tags, see ensure_hashtags) and count each new pair
    once, in one statement: a repeated call adds nothing. Returns how many pairs were added.

    Only a PUBLISHED post is tagged; its row is share-locked, so a concurrent delete (which
    locks it for update) either waits for this statement or makes it add nothing. The rows take
    the post's engagement (likes + 2 * comments); a later change of the post's counts is copied
    by the trigger of migration 0008, which the share lock orders after this statement.

    The counted tags are locked in id order first, so concurrent posts never deadlock.
    """
    count = await db.fetchval(
        """
        WITH post AS (
            SELECT id, like_count + 2 * comment_count AS engagement FROM posts
             WHERE id = $1 AND status = 'PUBLISHED' FOR SHARE
        ), added AS (
            INSERT INTO post_hashtags (post_id, hashtag_id, published_at, engagement)
            SELECT post.id, h.id, $3, post.engagement
              FROM post, hashtags h WHERE h.name = ANY($2::text[])
            ON CONFLICT DO NOTHING
            RETURNING hashtag_id
        ), locked AS (
            SELECT id FROM hashtags WHERE id IN (SELECT hashtag_id FROM added)
             ORDER BY id FOR UPDATE
        ), counted AS (
            UPDATE hashtags SET post_count = post_count + 1
             WHERE id IN (SELECT id FROM locked)
            RETURNING id
        )
        SELECT count(*) FROM counted
        """,
        post_id,
        names,
        published_at,
    )
    return int(count or 0)


async def remove_post_hashtags(db: Db, post_id: int, *, keep: Sequence[str] = ()) -> int:
    """Untag the post of every tag not in `keep`, each count down once per removed pair, in one
    statement (a repeated call removes nothing). Returns how many pairs were removed.

    The post's row is share-locked first, as add_post_hashtags and the engagement trigger
    (post row, then its tag rows) do: an edit racing a like flush or a comment cannot deadlock.
    """
    count = await db.fetchval(
        """
        WITH post AS (
            SELECT id FROM posts WHERE id = $1 FOR SHARE
        ), removed AS (
            DELETE FROM post_hashtags ph
             WHERE ph.post_id = (SELECT id FROM post)
               AND NOT EXISTS (SELECT 1 FROM hashtags h
                                WHERE h.id = ph.hashtag_id AND h.name = ANY($2::text[]))
            RETURNING hashtag_id
        ), locked AS (
            SELECT id FROM hashtags WHERE id IN (SELECT hashtag_id FROM removed)
             ORDER BY id FOR UPDATE
        ), counted AS (
            UPDATE hashtags SET post_count = post_count - 1
             WHERE id IN (SELECT id FROM locked)
            RETURNING id
        )
        SELECT count(*) FROM counted
        """,
        post_id,
        list(keep),
    )
    return int(count or 0)


async def fetch_hashtag_by_name(db: Db, name: str) -> HashtagRecord | None:
    row = await db.fetchrow("SELECT id, name, post_count FROM hashtags WHERE name = $1", name)
    return hashtag_from_row(row) if row else None


async def fetch_hashtags_by_ids(db: Db, ids: Sequence[int]) -> list[HashtagRecord]:
    rows = await db.fetch(
        "SELECT id, name, post_count FROM hashtags WHERE id = ANY($1::bigint[])", ids
    )
    return [hashtag_from_row(row) for row in rows]


async def fetch_hashtags_by_names(db: Db, names: Sequence[str]) -> list[HashtagRecord]:
    rows = await db.fetch(
        "SELECT id, name, post_count FROM hashtags WHERE name = ANY($1::text[])", names
    )
    return [hashtag_from_row(row) for row in rows]


def prefix_range(prefix: str) -> tuple[str, str]:
    """[low, high): exactly the strings that start with `prefix`, in byte (code point) order,
    for the `~>=~` / `~<~` operators of a text_pattern_ops index (which, unlike a LIKE pattern
    given as a parameter, any plan, generic or not, turns into an index range)."""
    last = ord(prefix[-1]) + 1
    if 0xD800 <= last <= 0xDFFF:  # surrogates are not characters: skip to the next one
        last = 0xE000
    return prefix, prefix[:-1] + chr(min(last, 0x10FFFF))


async def search_hashtags_by_prefix(db: Db, prefix: str, *, limit: int) -> list[HashtagRecord]:
    """Tags in use whose name starts with `prefix` (not empty): the exact name first, then the
    most used."""
    low, high = prefix_range(prefix)
    rows = await db.fetch(
        """
        SELECT id, name, post_count FROM hashtags
         WHERE name ~>=~ $1 AND name ~<~ $2 AND post_count > 0
         ORDER BY name = $1 DESC, post_count DESC, name
         LIMIT $3
        """,
        low,
        high,
        limit,
    )
    return [hashtag_from_row(row) for row in rows]


async def fetch_recent_page(
    db: Db,
    hashtag_id: int,
    viewer_id: int | None,
    *,
    limit: int,
    after: tuple[datetime, int] | None,
) -> list[PostRecord]:
    """The tag's published posts that the viewer may see (storage.pg.visibility), newest
    first, after the keyset (published at, id)."""
    rows = await db.fetch(
        f"""
        SELECT {_POST_COLUMNS_OF_P} FROM post_hashtags ph JOIN posts p ON p.id = ph.post_id
         WHERE ph.hashtag_id = $1 AND p.status = 'PUBLISHED' AND {visible_post_sql("p", "$5")}
           AND ($2::timestamptz IS NULL OR (ph.published_at, ph.post_id) < ($2, $3))
         ORDER BY ph.published_at DESC, ph.post_id DESC
         LIMIT $4
        """,
        hashtag_id,
        after[0] if after else None,
        after[1] if after else None,
        limit,
        viewer_id,
    )
    return [post_from_row(row) for row in rows]


async def fetch_top_page(
    db: Db,
    hashtag_id: int,
    viewer_id: int | None,
    *,
    since: datetime,
    limit: int,
    after: tuple[int, datetime, int] | None,
) -> tuple[list[tuple[int, PostRecord]], int]:
    """The tag's posts published since `since`, by engagement (likes + 2 * comments) then
    newest, after the keyset (engagement, published at, id), at most `limit` of them.

    Returns the (engagement, post) pairs and how many tag rows were ranked for them: fewer pairs
    than rows when a post was deleted a moment ago and its delete hook has not untagged it yet,
    or the viewer may not see it (storage.pg.visibility): such a post is left out; the rows
    count tells whether the window has more.
    """
    # The window is ranked from post_hashtags_page_engagement_idx alone (an index-only scan of
    # the tag's rows since `since`, engagement included); only the page's posts are read.
    rows = await db.fetch(
        f"""
        SELECT top.engagement, p.status AS found_status, {_POST_COLUMNS_OF_P}
          FROM (
            SELECT post_id, engagement, published_at FROM post_hashtags
             WHERE hashtag_id = $1 AND published_at >= $2
               AND ($3::integer IS NULL OR (engagement, published_at, post_id) < ($3, $4, $5))
             ORDER BY engagement DESC, published_at DESC, post_id DESC
             LIMIT $6
          ) top
          LEFT JOIN posts p ON p.id = top.post_id AND p.status = 'PUBLISHED'
               AND {visible_post_sql("p", "$7")}
         ORDER BY top.engagement DESC, top.published_at DESC, top.post_id DESC
        """,
        hashtag_id,
        since,
        after[0] if after else None,
        after[1] if after else None,
        after[2] if after else None,
        limit,
        viewer_id,
    )
    pairs = [(row["engagement"], post_from_row(row)) for row in rows if row["found_status"]]
    return pairs, len(rows)


async def fetch_post_hashtag_names(db: Db, post_id: int) -> list[str]:
    rows = await db.fetch(
        """
        SELECT h.name FROM post_hashtags ph JOIN hashtags h ON h.id = ph.hashtag_id
         WHERE ph.post_id = $1 ORDER BY h.name
        """,
        post_id,
    )
    return [row["name"] for row in rows]


async def fetch_hashtags_page(db: Db, *, limit: int, after_id: int) -> list[HashtagRecord]:
    """Tags in use in id order after `after_id` (for rebuilding a search index)."""
    rows = await db.fetch(
        """
        SELECT id, name, post_count FROM hashtags WHERE id > $1 AND post_count > 0
         ORDER BY id LIMIT $2
        """,
        after_id,
        limit,
    )
    return [hashtag_from_row(row) for row in rows]
