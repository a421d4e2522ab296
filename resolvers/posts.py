"""Field resolvers about posts: their author, media, counts, comments and likers.

They return domain data; the schema types map it to GraphQL objects.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from resolvers.context import Context
from services import comments, likes, posts
from services.pagination import Page
from storage.pg.comments import CommentRecord
from storage.pg.media import MediaRecord
from storage.pg.posts import PostRecord
from storage.pg.users import UserRecord


async def user(context: Context, user_id: int) -> UserRecord:
    record = await context.loaders.user_by_id.load(user_id)
    assert record is not None, f"user {user_id} vanished"  # FK: authors exist while posts do
    return record


async def comments_page(
    context: Context, post_id: int, *, first: int, after: str | None
) -> Page[CommentRecord]:
    return await comments.list_comments(context.db, post_id, first=first, after=after)


async def likers_page(
    context: Context, post_id: int, *, first: int, after: str | None
) -> Page[UserRecord]:
    page = await likes.list_likers(context.db, post_id, first=first, after=after)
    context.loaders.prime_users([liker for _, liker in page.edges])
    return page


async def post(context: Context, post_id: int) -> PostRecord:
    record = await context.loaders.post_by_id.load(post_id)
    assert record is not None, f"post {post_id} vanished"  # FK: comments go with their post
    return record


async def author_posts_page(
    context: Context, author_id: int, *, first: int, after: str | None
) -> Page[PostRecord]:
    return await posts.list_author_posts(context.db, author_id, first=first, after=after)


@dataclass(frozen=True, slots=True)
class PostView:
    """What a post usually shows, loaded for a whole page at once."""

    author: UserRecord
    media: list[tuple[MediaRecord, str | None]]
    like_count: int
    viewer_has_liked: bool


async def prefetch_page(context: Context, records: list[PostRecord]) -> dict[int, PostView]:
    """Load everything a page of posts usually shows, in a few batched reads at once.

    The schema hands these to the posts as plain values: resolving 20 posts then creates no
    awaitable per field (DESIGN.md §5: per-field awaitables, not SQL, are the cost).
    """
    loaders = context.loaders
    loaders.prime_posts(records)
    post_ids = [record.id for record in records]
    authors, media_lists, like_counts, liked = await asyncio.gather(
        loaders.user_by_id.load_many([record.author_id for record in records]),
        loaders.media_items_by_post_id.load_many(post_ids),
        loaders.like_count_by_post_id.load_many(post_ids),
        loaders.viewer_has_liked_by_post_id.load_many(post_ids),
    )
    media_ids = [item.media_id for items in media_lists for item in items]
    media = dict(zip(media_ids, await loaders.media_by_id.load_many(media_ids), strict=True))
    views = {}
    for record, author, items, like_count, has_liked in zip(
        records, authors, media_lists, like_counts, liked, strict=True
    ):
        assert author is not None, f"author of post {record.id} vanished"
        views[record.id] = PostView(
            author=author,
            media=[
                (found, item.alt_text)
                for item in items
                if (found := media.get(item.media_id)) is not None
            ],
            like_count=like_count,
            viewer_has_liked=has_liked,
        )
    return views


async def comment(context: Context, comment_id: int) -> CommentRecord | None:
    return await context.loaders.comment_by_id.load(comment_id)


@dataclass(frozen=True, slots=True)
class LoadedPosts:
    """A page of posts with what they show (see prefetch_page)."""

    page: Page[PostRecord]
    views: dict[int, PostView]


async def load_page(context: Context, page: Page[PostRecord]) -> LoadedPosts:
    return LoadedPosts(page, await prefetch_page(context, [record for _, record in page.edges]))
