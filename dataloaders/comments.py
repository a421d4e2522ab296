"""Batch loaders about comments: one query for N keys, in key order."""

from __future__ import annotations

from collections.abc import Sequence

from services import comments as comment_service
from services.pagination import Page
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


async def load_first_comments(
    db: Db, viewer_id: int | None, keys: Sequence[tuple[int, int]]
) -> list[Page[CommentRecord]]:
    """For each key (post id, first): the post's first page of `first` comments the viewer may
    see (services.comments.list_first_comments), one statement per distinct `first`."""
    pages: dict[tuple[int, int], Page[CommentRecord]] = {}
    for first in sorted({first for _, first in keys}):
        post_ids = sorted({post_id for post_id, wanted in keys if wanted == first})
        found = await comment_service.list_first_comments(db, viewer_id, post_ids, first=first)
        pages.update({(post_id, first): page for post_id, page in found.items()})
    return [pages[key] for key in keys]
