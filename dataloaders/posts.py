"""Batch loaders about posts: one query (or one Redis round trip) for N keys, in key order."""

from __future__ import annotations

from collections.abc import Sequence

from storage.pg import Db
from storage.pg import comments as comment_store
from storage.pg import posts as post_store
from storage.pg.comments import CommentRecord
from storage.pg.posts import PostRecord


async def load_posts_by_id(db: Db, ids: Sequence[int]) -> list[PostRecord | None]:
    found = {post.id: post for post in await post_store.fetch_posts_by_ids(db, ids)}
    return [found.get(post_id) for post_id in ids]


async def load_comments_by_id(db: Db, ids: Sequence[int]) -> list[CommentRecord | None]:
    found = {c.id: c for c in await comment_store.fetch_comments_by_ids(db, ids)}
    return [found.get(comment_id) for comment_id in ids]
