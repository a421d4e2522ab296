"""Batch loaders about posts: one query (or one Redis round trip) for N keys, in key order."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from redis.asyncio import Redis

from services import likes
from storage.pg import Db
from storage.pg import comments as comment_store
from storage.pg import likes as like_store
from storage.pg import posts as post_store
from storage.pg.comments import CommentRecord
from storage.pg.posts import PostMediaItem, PostRecord


async def load_posts_by_id(db: Db, ids: Sequence[int]) -> list[PostRecord | None]:
    found = {post.id: post for post in await post_store.fetch_posts_by_ids(db, ids)}
    return [found.get(post_id) for post_id in ids]


async def load_post_media(db: Db, post_ids: Sequence[int]) -> list[list[PostMediaItem]]:
    by_post: dict[int, list[PostMediaItem]] = defaultdict(list)
    for item in await post_store.fetch_post_media(db, post_ids):
        by_post[item.post_id].append(item)
    return [by_post[post_id] for post_id in post_ids]


async def load_like_counts(db: Db, redis: Redis, post_ids: Sequence[int]) -> list[int]:
    return await likes.like_counts(db, redis, post_ids)


async def load_viewer_liked(db: Db, viewer_id: int | None, post_ids: Sequence[int]) -> list[bool]:
    """For each post: has the viewer liked it (always False when anonymous)."""
    if viewer_id is None:
        return [False] * len(post_ids)
    liked = await like_store.fetch_liked_among(db, viewer_id, post_ids)
    return [post_id in liked for post_id in post_ids]


async def load_comments_by_id(db: Db, ids: Sequence[int]) -> list[CommentRecord | None]:
    found = {c.id: c for c in await comment_store.fetch_comments_by_ids(db, ids)}
    return [found.get(comment_id) for comment_id in ids]
