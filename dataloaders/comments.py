"""Batch loaders about comments: one query for N keys, in key order."""

from __future__ import annotations

from collections.abc import Sequence

from storage.pg import Db
from storage.pg import comments as comment_store
from storage.pg.comments import CommentRecord


async def load_comments_by_id(db: Db, ids: Sequence[int]) -> list[CommentRecord | None]:
    found = {c.id: c for c in await comment_store.fetch_comments_by_ids(db, ids)}
    return [found.get(comment_id) for comment_id in ids]
