"""The home feed query."""

from __future__ import annotations

import enum

import strawberry
from strawberry.types import Info

from resolvers.context import Context
from resolvers.posts import load_page
from schema.posts import PostConnection
from services import feed, posts
from services.feed_deps import FeedOrder as Order
from services.pagination import Page


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
        ids = await feed.read_feed(
            context.resources.feed,
            viewer.user_id,
            first=first,
            after=after,
            order=Order(order.value),
        )
        records = await context.loaders.post_by_id.load_many([post_id for _, post_id in ids.edges])
        page = Page(
            edges=[
                (cursor, record)
                for (cursor, _), record in zip(ids.edges, records, strict=True)
                # deleted since the feed was read: the same rule as everywhere else
                if record is not None and posts.is_visible(record, viewer.user_id)
            ],
            has_next_page=ids.has_next_page,
        )
        loaded = await load_page(context, page)
        return PostConnection.from_loaded(loaded, info, after=after)
