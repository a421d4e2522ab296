"""Field resolvers about posts: their author, media, counts, comments and likers.

They return domain data; the schema types map it to GraphQL objects.
"""

from __future__ import annotations

from dataclasses import dataclass

from resolvers.context import Context
from resolvers.users import primed
from services import comments, likes, post_views, posts
from services.pagination import Page
from services.post_views import PostView
from storage.pg.comments import CommentRecord
from storage.pg.posts import PostRecord
from storage.pg.users import UserRecord


async def user(context: Context, user_id: int) -> UserRecord:
    record = await context.loaders.user_by_id.load(user_id)
    assert record is not None, f"user {user_id} vanished"  # FK: authors exist while posts do
    return record


async def comments_page(
    context: Context, post_id: int, *, first: int, after: str | None
) -> Page[CommentRecord]:
    """A page of the post's comments; first pages of a page of posts are read together (the
    first_comments loader: one statement, not one per post)."""
    if after is None:
        return await context.loaders.first_comments.load((post_id, first))
    return await comments.list_comments(
        context.db, context.viewer_id, post_id, first=first, after=after
    )


async def likers_page(
    context: Context, post_id: int, *, first: int, after: str | None
) -> Page[UserRecord]:
    return primed(
        context,
        await likes.list_likers(context.db, context.viewer_id, post_id, first=first, after=after),
    )


async def author_posts_page(
    context: Context, author_id: int, *, first: int, after: str | None
) -> Page[PostRecord]:
    return await posts.list_author_posts(
        context.db, context.viewer_id, author_id, first=first, after=after
    )


async def load_views(context: Context, post_ids: list[int]) -> list[PostView]:
    """Everything a page of posts usually shows, in one batched read (services.post_views);
    user_by_id is primed with the authors, for fields that ask again.

    The schema hands these to the posts as plain values: resolving 20 posts then creates no
    awaitable per field (docs/architecture.md: per-field awaitables, not SQL, are the cost).
    """
    views = await post_views.page_views(
        context.db,
        context.resources.redis,
        post_ids,
        context.viewer_id,
    )
    context.loaders.prime_users([view.author for view in views])
    return views


async def comment(context: Context, comment_id: int) -> CommentRecord | None:
    return await context.loaders.comment_by_id.load(comment_id)


@dataclass(frozen=True, slots=True)
class LoadedPosts:
    """A page of posts with what they show (see load_views)."""

    page: Page[PostRecord]
    views: dict[int, PostView]


async def load_page(context: Context, page: Page[PostRecord]) -> LoadedPosts:
    """The posts of a list query (already the viewer's to see), with what they show."""
    views = {
        view.post.id: view
        for view in await load_views(context, [record.id for _, record in page.edges])
    }
    edges = [(cursor, views[record.id].post) for cursor, record in page.edges if record.id in views]
    return LoadedPosts(Page(edges=edges, has_next_page=page.has_next_page), views)


def loaded_views(context: Context, page: Page[PostView]) -> LoadedPosts:
    """A page of posts assembled by a service (the feed's) as load_page returns it; user_by_id
    is primed with the authors, for fields that ask again."""
    context.loaders.prime_users([view.author for _, view in page.edges])
    edges = [(cursor, view.post) for cursor, view in page.edges]
    views = {view.post.id: view for _, view in page.edges}
    return LoadedPosts(Page(edges=edges, has_next_page=page.has_next_page), views)
