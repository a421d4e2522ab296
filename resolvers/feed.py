"""The home feed query."""

from __future__ import annotations

import enum

import strawberry
from strawberry.types import Info

from resolvers.context import Context
from resolvers.posts import load_feed_page
from schema.posts import PostConnection, post_connection
from services import feed
from services.feed_deps import FeedOrder as Order


@strawberry.enum
class FeedOrder(enum.Enum):
    RANKED = "RANKED"
    CHRONOLOGICAL = "CHRONOLOGICAL"


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
            context.resources.feed,
            viewer.user_id,
            first=first,
            after=after,
            order=Order(order.value),
        )
        loaded = await load_feed_page(context, page)
        return post_connection(loaded, info, after=after)
