"""What a page of posts shows (author, media, live like count, the viewer's like), read for the
whole page at once: one SQL statement and one Redis round trip, whatever the page size."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import NamedTuple

from redis.asyncio import Redis

from services import likes
from storage.counters import LikeCounter
from storage.pg import Db
from storage.pg.media import MediaRecord
from storage.pg.post_views import PostViewRow, fetch_post_views
from storage.pg.posts import PostRecord
from storage.pg.users import UserRecord


class PostView(NamedTuple):
    """What a post usually shows, loaded with its page."""

    post: PostRecord
    author: UserRecord
    media: list[tuple[MediaRecord, str | None]]
    """The post's media in carousel order, each with its alt text."""
    like_count: int
    viewer_has_liked: bool
    author_content_visible: bool
    """The viewer may see the author's content (services.visibility.may_see_content)."""


async def page_views(
    db: Db,
    redis: Redis,
    post_ids: Sequence[int],
    viewer_id: int | None,
    *,
    like_counters: Sequence[LikeCounter] | None = None,
    rows: Sequence[PostViewRow] | None = None,
) -> list[PostView]:
    """The posts among `post_ids` that exist (any status: callers apply visibility), in the
    order asked. `like_counters`: the posts' Redis like counters when already read (the feed
    reads them with its page), else read here; `rows`: the views of exactly these posts in this
    order when already read (the feed's may be), else read here. Side effect: like counters
    missing from Redis are recounted and filled."""
    if like_counters is None:
        rows, like_counts = await asyncio.gather(
            _rows(db, post_ids, viewer_id, rows), likes.like_counts(db, redis, post_ids)
        )
    else:
        rows = await _rows(db, post_ids, viewer_id, rows)
        like_counts = await likes.like_counts(db, redis, post_ids, redis_counters=like_counters)
    counts = dict(zip(post_ids, like_counts, strict=True))
    return [
        PostView(
            post=row.post,
            author=row.author,
            media=row.media,
            like_count=counts[row.post.id],
            viewer_has_liked=row.viewer_has_liked,
            author_content_visible=row.author_content_visible,
        )
        for row in rows
    ]


async def _rows(
    db: Db, post_ids: Sequence[int], viewer_id: int | None, rows: Sequence[PostViewRow] | None
) -> Sequence[PostViewRow]:
    return await fetch_post_views(db, post_ids, viewer_id) if rows is None else rows
