"""What a page of posts shows, in one statement: each post with its author, its media (in
carousel order, with alt texts) and whether the viewer liked it.

The view's columns (`view_columns`) are also selected by the feed's candidate query
(storage.feed.sql), which reads the views of the page it expects in the same round trip."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import asyncpg

from storage.pg import Db, qualified
from storage.pg.media import MediaRecord, media_from_row, visible_media_sql
from storage.pg.posts import POST_COLUMNS, PostRecord
from storage.pg.users import USER_COLUMNS, UserRecord
from storage.pg.visibility import content_visible_sql


class PostViewRow(NamedTuple):
    post: PostRecord
    author: UserRecord
    media: list[tuple[MediaRecord, str | None]]
    viewer_has_liked: bool
    author_content_visible: bool
    """The viewer may see the author's content (storage.pg.visibility.content_visible_sql)."""


_AUTHOR = len(PostRecord._fields)
_MEDIA = _AUTHOR + len(UserRecord._fields)
VIEW_WIDTH = _MEDIA + 4
"""How many columns `view_columns` selects."""


def view_columns(viewer: str) -> str:
    """The select list of a post view, read by `view_from_row`: the post `p`, its author `u`
    (`JOIN users u ON u.id = p.author_id`), its media that the viewer may see (the media rule,
    `visible_media_sql`) and their alt texts in carousel order, and whether the viewer
    (`viewer`: the placeholder of their id, or of NULL) liked it, and whether the viewer may
    see the author's content (the visibility rule's SQL form: services.posts.is_visible
    completes it with the post's status)."""
    # The author's content is read once for the view (author_content_visible), and a view
    # whose author's content is hidden is not shown at all: no probe per media item.
    visible = visible_media_sql("m", "p", viewer, author_checked=True)
    return f"""{qualified(POST_COLUMNS, "p")},
       {qualified(USER_COLUMNS, "u", prefix="author_")},
       ARRAY(SELECT m FROM post_media pm JOIN media m ON m.id = pm.media_id
              WHERE pm.post_id = p.id AND {visible} ORDER BY pm.position) AS media,
       ARRAY(SELECT pm.alt_text FROM post_media pm JOIN media m ON m.id = pm.media_id
              WHERE pm.post_id = p.id AND {visible} ORDER BY pm.position) AS alt_texts,
       {viewer}::bigint IS NOT NULL AND EXISTS (
           SELECT 1 FROM likes l WHERE l.post_id = p.id AND l.user_id = {viewer}
       ) AS viewer_has_liked,
       {content_visible_sql("u", viewer)} AS author_content_visible"""


def view_from_row(row: asyncpg.Record) -> PostViewRow:
    """The view in the first VIEW_WIDTH columns of `row` (as `view_columns` selects them),
    read by position."""
    return PostViewRow(
        post=PostRecord._make(row[:_AUTHOR]),
        author=UserRecord._make(row[_AUTHOR:_MEDIA]),
        media=[
            (media_from_row(item), alt)
            for item, alt in zip(row[_MEDIA], row[_MEDIA + 1], strict=True)
        ],
        viewer_has_liked=row[_MEDIA + 2],
        author_content_visible=row[_MEDIA + 3],
    )


_QUERY = f"""
SELECT {view_columns("$2")}
  FROM unnest($1::bigint[]) WITH ORDINALITY AS wanted(id, n)
  JOIN posts p ON p.id = wanted.id
  JOIN users u ON u.id = p.author_id
 ORDER BY wanted.n
"""


async def fetch_post_views(
    db: Db, post_ids: Sequence[int], viewer_id: int | None
) -> list[PostViewRow]:
    """The posts among `post_ids` that exist (any status), in the order asked, each with what
    it shows. One statement, whatever the page size."""
    return [view_from_row(row) for row in await db.fetch(_QUERY, post_ids, viewer_id)]
