"""The home feed query: services.feed assembles the page; this maps it to GraphQL types."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers.context import Context
from resolvers.posts import loaded_views
from schema.posts import PostConnection, post_connection
from services import feed
from services.feed import FeedOrder

strawberry.enum(FeedOrder)  # the GraphQL enum FeedOrder is the domain's, registered as it is


@strawberry.type
class FeedQueries:
    @strawberry.field(
        description="Home feed of the signed-in user: posts of the accounts they follow, and "
        "their own. RANKED re-scores recent posts (docs/ranking.md); CHRONOLOGICAL is newest "
        "first. Paging never repeats or skips a post."
    )
    async def feed(
        self,
        info: Info[Context, None],
        first: int = 20,
        after: str | None = None,
        order: FeedOrder = FeedOrder.RANKED,
    ) -> PostConnection:
        context = info.context
        viewer = context.require_viewer()
        page = await feed.read_feed(
            context.resources.feed, viewer.user_id, first=first, after=after, order=order
        )
        return post_connection(loaded_views(context, page), info, after=after)
