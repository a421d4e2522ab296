"""Queries of discovery: explore, a hashtag's page, and search."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers import discover_fields
from resolvers.context import Context
from schema.discover import Hashtag, SearchResults
from schema.posts import PostConnection, post_connection
from schema.users import User
from services import hashtag_pages, search


@strawberry.type
class DiscoverQueries:
    @strawberry.field(
        description="Explore page: popular recent posts from accounts the viewer does not follow."
    )
    async def explore(
        self, info: Info[Context, None], first: int = 30, after: str | None = None
    ) -> PostConnection:
        loaded = await discover_fields.explore_page(info.context, first=first, after=after)
        return post_connection(loaded, info, after=after)

    @strawberry.field(description="The hashtag with this name (`#` optional, any case), or null.")
    async def hashtag(self, info: Info[Context, None], name: str) -> Hashtag | None:
        record = await hashtag_pages.fetch_hashtag(info.context.db, name)
        return Hashtag.from_record(record) if record else None

    @strawberry.field(description="People, hashtags and posts matching the query.")
    async def search(self, info: Info[Context, None], query: str, first: int = 20) -> SearchResults:
        context = info.context
        found = await search.search_people_and_tags(
            context.db, context.resources.search, query, first=first, viewer_id=context.viewer_id
        )
        context.loaders.prime_users(found.users)
        return SearchResults(
            users=[User.from_record(user) for user in found.users],
            hashtags=[Hashtag.from_record(tag) for tag in found.hashtags],
            query=query,
        )
