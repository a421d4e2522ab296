"""A hashtag's page: the tag and its posts, RECENT (newest first) or TOP (engagement over a
recent window, then older posts newest first).

TOP ranks the tag's posts published in the `TOP_WINDOW` before the first page by
`like_count + 2 * comment_count` (ties: newest first) and then continues with older posts in time
order. The window's start travels in the cursor, so every page of one paging session ranks the
same set of posts; the cursor is a keyset over (engagement, published at, id), so a post is
never shown twice unless its engagement changes between two page loads. Engagement is read from
`post_hashtags.engagement`, a copy of the posts' flushed counts kept by a trigger (migration
0008), so ranking a tag's window reads one index and no post rows (docs/search.md).
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from services.cursors import (
    HashtagOlderCursor,
    HashtagTopCursor,
    decode,
    decode_time_id_cursor,
    encode,
    encode_time_id_cursor,
)
from services.pagination import (
    Page,
    check_page_size,
    page_of,
)
from storage.micros import datetime_of, micros_of
from storage.pg import Db
from storage.pg import hashtags as hashtag_store
from storage.pg.hashtags import HashtagRecord
from storage.pg.posts import PostRecord

TOP_WINDOW = timedelta(days=7)
MAX_NAME_LENGTH = 100


class HashtagOrder(enum.Enum):
    TOP = "TOP"
    RECENT = "RECENT"


def normalize_hashtag_name(name: str) -> str | None:
    """`#Sunset` / `sunset` -> `sunset`; None when it cannot be a tag."""
    folded = name.strip().removeprefix("#").casefold()
    if (
        not folded
        or len(folded) > MAX_NAME_LENGTH
        or not all(c.isalnum() or c == "_" for c in folded)
    ):
        return None
    return folded


async def fetch_hashtag(db: Db, name: str) -> HashtagRecord | None:
    """The tag with this name (any case, `#` optional) if some published post carries it."""
    normalized = normalize_hashtag_name(name)
    if normalized is None:
        return None
    found = await hashtag_store.fetch_hashtag_by_name(db, normalized)
    return found if found is not None and found.post_count > 0 else None


async def list_hashtag_posts(
    db: Db,
    hashtag_id: int,
    *,
    order: HashtagOrder,
    first: int,
    after: str | None,
    now: datetime,
    viewer_id: int | None = None,
) -> Page[PostRecord]:
    """One page of the tag's published posts the viewer (None: anonymous) may see
    (services.visibility, in SQL) in `order`. Raises InvalidArgumentError for a bad
    `first` or a cursor of another list. No side effects."""
    limit = check_page_size(first)
    if order is HashtagOrder.RECENT:
        rows = await hashtag_store.fetch_recent_page(
            db, hashtag_id, viewer_id, limit=limit + 1, after=decode_time_id_cursor(after)
        )
        return page_of([(encode_time_id_cursor(_published(p), p.id), p) for p in rows], limit)
    return await _top_page(db, viewer_id, hashtag_id, limit=limit, after=after, now=now)


async def _top_page(
    db: Db, viewer_id: int | None, hashtag_id: int, *, limit: int, after: str | None, now: datetime
) -> Page[PostRecord]:
    since, ranked_after, older_after = _decode_top(after, now)
    items: list[tuple[str, PostRecord]] = []
    if older_after is None:
        ranked, rows = await hashtag_store.fetch_top_page(
            db, hashtag_id, viewer_id, since=since, limit=limit + 1, after=ranked_after
        )
        since_micros = micros_of(since)
        items = [
            (encode(HashtagTopCursor(since_micros, score, micros_of(_published(p)), p.id)), p)
            for score, p in ranked
        ]
        if rows > limit:  # the window has more (even if a just-deleted post was left out)
            return Page(edges=items[:limit], has_next_page=True)
        older_after = (since, 0)  # below the window: published before `since`
    # Here len(items) <= limit: either none were read, or len(ranked) <= rows <= limit.
    older = await hashtag_store.fetch_recent_page(
        db, hashtag_id, viewer_id, limit=limit + 1 - len(items), after=older_after
    )
    items += [(encode(HashtagOlderCursor(micros_of(_published(p)), p.id)), p) for p in older]
    return page_of(items, limit)


def _decode_top(
    after: str | None, now: datetime
) -> tuple[datetime, tuple[int, datetime, int] | None, tuple[datetime, int] | None]:
    """(window start, keyset in the ranked window, keyset below it)."""
    if after is None:
        return now - TOP_WINDOW, None, None
    cursor = decode(after, HashtagTopCursor, HashtagOlderCursor)
    if isinstance(cursor, HashtagTopCursor):
        ranked = (cursor.score, datetime_of(cursor.published_micros), cursor.post_id)
        return datetime_of(cursor.since_micros), ranked, None
    return now, None, (datetime_of(cursor.published_micros), cursor.post_id)


def _published(post: PostRecord) -> datetime:
    assert post.published_at is not None  # only published posts are tagged
    return post.published_at
