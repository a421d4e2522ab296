"""Field resolvers about posts: their author, media, counts, comments and likers.

They return domain data; the schema types map it to GraphQL objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from resolvers.context import Context
from resolvers.users import primed
from services import comments, likes, post_views, posts
from services.feed import FeedPage
from services.pagination import Page
from services.post_views import PostView
from storage.pg.comments import CommentRecord
from storage.pg.post_views import PostViewRow
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
    return primed(context, await likes.list_likers(context.db, post_id, first=first, after=after))


async def author_posts_page(
    context: Context, author_id: int, *, first: int, after: str | None
) -> Page[PostRecord]:
    return await posts.list_author_posts(context.db, author_id, first=first, after=after)


async def load_views(
    context: Context,
    post_ids: list[int],
    *,
    like_counters: Sequence[int | None] | None = None,
    rows: Sequence[PostViewRow] | None = None,
) -> list[PostView]:
    """Everything a page of posts usually shows, in one batched read (services.post_views;
    `like_counters` and `rows` when the page came with them); user_by_id is primed with the
    authors, for fields that ask again.

    The schema hands these to the posts as plain values: resolving 20 posts then creates no
    awaitable per field (DESIGN.md §5: per-field awaitables, not SQL, are the cost).
    """
    views = await post_views.page_views(
        context.db,
        context.resources.redis,
        post_ids,
        context.viewer_id,
        like_counters=like_counters,
        rows=rows,
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
    ids = Page(
        edges=[(cursor, record.id) for cursor, record in page.edges],
        has_next_page=page.has_next_page,
    )
    return await _load(context, ids, visible_only=False)


async def load_feed_page(context: Context, page: FeedPage) -> LoadedPosts:
    """As load_page, for a page of the feed (post ids read before the posts, with their like
    counters and maybe their views): a post the viewer may no longer see (deleted since) is
    left out, by the rule everywhere else."""
    return await _load(
        context, page, visible_only=True, like_counters=page.like_counters, rows=page.views
    )


async def _load(
    context: Context,
    ids: Page[int],
    *,
    visible_only: bool,
    like_counters: Sequence[int | None] | None = None,
    rows: Sequence[PostViewRow] | None = None,
) -> LoadedPosts:
    post_ids = [post_id for _, post_id in ids.edges]
    views = {
        view.post.id: view
        for view in await load_views(context, post_ids, like_counters=like_counters, rows=rows)
        if not visible_only or posts.is_visible(view.post, context.viewer_id)
    }
    edges = [(cursor, views[post_id].post) for cursor, post_id in ids.edges if post_id in views]
    return LoadedPosts(Page(edges=edges, has_next_page=ids.has_next_page), views)
