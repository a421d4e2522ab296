"""What a page of posts shows, in one statement: each post with its author, its media (in
carousel order, with alt texts) and whether the viewer liked it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from storage.pg import Db, qualified
from storage.pg.media import MediaRecord, media_from_row
from storage.pg.posts import POST_COLUMNS, PostRecord, post_from_row
from storage.pg.users import USER_COLUMNS, UserRecord, user_from_row


class PostViewRow(NamedTuple):
    post: PostRecord
    author: UserRecord
    media: list[tuple[MediaRecord, str | None]]
    viewer_has_liked: bool


_AUTHOR_PREFIX = "author_"
_QUERY = f"""
SELECT {qualified(POST_COLUMNS, "p")},
       {qualified(USER_COLUMNS, "u", prefix=_AUTHOR_PREFIX)},
       ARRAY(SELECT m FROM post_media pm JOIN media m ON m.id = pm.media_id
              WHERE pm.post_id = p.id ORDER BY pm.position) AS media,
       ARRAY(SELECT pm.alt_text FROM post_media pm
              WHERE pm.post_id = p.id ORDER BY pm.position) AS alt_texts,
       $2::bigint IS NOT NULL AND EXISTS (
           SELECT 1 FROM likes l WHERE l.post_id = p.id AND l.user_id = $2
       ) AS viewer_has_liked
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
    rows = await db.fetch(_QUERY, post_ids, viewer_id)
    views = []
    for row in rows:
        views.append(
            PostViewRow(
                post=post_from_row(row),
                author=user_from_row(row, _AUTHOR_PREFIX),
                media=[
                    (media_from_row(item), alt)
                    for item, alt in zip(row["media"], row["alt_texts"], strict=True)
                ],
                viewer_has_liked=row["viewer_has_liked"],
            )
        )
    return views
