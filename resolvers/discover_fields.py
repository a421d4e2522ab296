"""Field resolvers of explore, hashtags and search: call the service, prefetch each page of
posts (resolvers.posts.load_page), return domain data."""

from __future__ import annotations

from datetime import UTC, datetime

from resolvers.context import Context
from resolvers.posts import LoadedPosts, load_page
from services import explore, hashtag_pages, search
from services.explore import ExploreDeps
from services.hashtag_pages import HashtagOrder


async def explore_page(context: Context, *, first: int, after: str | None) -> LoadedPosts:
    deps = ExploreDeps(db=context.db, redis=context.resources.redis)
    page = await explore.read_explore(
        deps, context.viewer_id, first=first, after=after, now=datetime.now(UTC)
    )
    return await load_page(context, page)


async def hashtag_posts_page(
    context: Context, hashtag_id: int, *, order: HashtagOrder, first: int, after: str | None
) -> LoadedPosts:
    page = await hashtag_pages.list_hashtag_posts(
        context.db,
        hashtag_id,
        order=order,
        first=first,
        after=after,
        now=datetime.now(UTC),
        viewer_id=context.viewer_id,
    )
    return await load_page(context, page)


async def search_posts_page(
    context: Context, query: str, *, first: int, after: str | None
) -> LoadedPosts:
    page = await search.search_posts(
        context.db,
        context.resources.search,
        query,
        first=first,
        after=after,
        viewer_id=context.viewer_id,
    )
    return await load_page(context, page)
