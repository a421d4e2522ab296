"""Field resolvers about posts: their author, media, counts, comments and likers.

They return domain data; the schema types map it to GraphQL objects.
"""

from __future__ import annotations

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


async def post_media(context: Context, post_id: int) -> list[tuple[MediaRecord, str | None]]:
    """The post's media with their alt texts, in order."""
    items = await context.loaders.media_items_by_post_id.load(post_id)
    records = await context.loaders.media_by_id.load_many([item.media_id for item in items])
    return [
        (record, item.alt_text)
        for item, record in zip(items, records, strict=True)
        if record is not None
    ]


async def like_count(context: Context, post_id: int) -> int:
    return await context.loaders.like_count_by_post_id.load(post_id)


async def viewer_has_liked(context: Context, post_id: int) -> bool:
    return await context.loaders.viewer_has_liked_by_post_id.load(post_id)


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
    page = await posts.list_author_posts(context.db, author_id, first=first, after=after)
    context.loaders.prime_posts([record for _, record in page.edges])
    return page
