"""Batch loaders about comments: one query for N keys, in key order."""

from __future__ import annotations

from collections.abc import Sequence

from storage.pg import Db
from storage.pg import comments as comment_store
from storage.pg.comments import CommentRecord


async def load_comments_by_id(
    db: Db, viewer_id: int | None, ids: Sequence[int]
) -> list[CommentRecord | None]:
    """The comments of `ids` the viewer may see (services.comments.fetch_comments' rule), None
    for the others."""
    found = {c.id: c for c in await comment_store.fetch_visible_comments_by_ids(db, ids, viewer_id)}
    return [found.get(comment_id) for comment_id in ids]
