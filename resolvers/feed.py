"""The home feed query."""

from __future__ import annotations

import enum

import strawberry
from strawberry.types import Info

from resolvers.context import Context
from resolvers.posts import LoadedPosts, load_views
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
        views = {
            view.post.id: view
            for view in await load_views(context, [post_id for _, post_id in ids.edges])
            # deleted since the feed was read: the same rule as everywhere else
            if posts.is_visible(view.post, viewer.user_id)
        }
        page = Page(
            edges=[
                (cursor, views[post_id].post) for cursor, post_id in ids.edges if post_id in views
            ],
            has_next_page=ids.has_next_page,
        )
        return PostConnection.from_loaded(LoadedPosts(page, views), info, after=after)
