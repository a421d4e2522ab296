"""Field resolvers of explore, hashtags and search: call the service, prefetch each page of
posts (resolvers.posts.prefetch_page), return domain data."""

from __future__ import annotations

from datetime import UTC, datetime

from resolvers.context import Context
from resolvers.posts import prefetch_page
from services import explore, hashtag_pages, search
from services.explore import ExploreDeps
from services.hashtag_pages import HashtagOrder
from services.pagination import Page
from storage.pg.posts import PostRecord
from storage.search import SearchBackend
from storage.search.postgres import PostgresSearch


def search_backend(context: Context) -> SearchBackend:
    """The process's search backend; PostgreSQL on the request's pool when none is configured."""
    backend: SearchBackend | None = getattr(context.resources, "search", None)
    return backend if backend is not None else PostgresSearch(context.db)


async def explore_page(context: Context, *, first: int, after: str | None) -> Page[PostRecord]:
    deps = ExploreDeps(db=context.db, redis=context.resources.redis)
    page = await explore.read_explore(
        deps, context.viewer_id, first=first, after=after, now=datetime.now(UTC)
    )
    await prefetch_page(context, [record for _, record in page.edges])
    return page


async def hashtag_posts_page(
    context: Context, hashtag_id: int, *, order: HashtagOrder, first: int, after: str | None
) -> Page[PostRecord]:
    page = await hashtag_pages.list_hashtag_posts(
        context.db, hashtag_id, order=order, first=first, after=after, now=datetime.now(UTC)
    )
    await prefetch_page(context, [record for _, record in page.edges])
    return page


async def search_posts_page(
    context: Context, query: str, *, first: int, after: str | None
) -> Page[PostRecord]:
    page = await search.search_posts(
        context.db, search_backend(context), query, first=first, after=after
    )
    await prefetch_page(context, [record for _, record in page.edges])
    return page
