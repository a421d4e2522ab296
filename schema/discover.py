"""`Hashtag` and `SearchResults`."""

from __future__ import annotations

import enum

import strawberry
from strawberry.types import Info

from resolvers import discover_fields
from resolvers.context import Context
from schema.node import Node
from schema.posts import PostConnection, post_connection
from schema.users import User
from services.hashtag_pages import HashtagOrder
from services.records import HashtagRecord


@strawberry.enum
class HashtagPostOrder(enum.Enum):
    TOP = "TOP"
    RECENT = "RECENT"


@strawberry.type
class Hashtag(Node):
    name: str
    post_count: int

    @classmethod
    def from_record(cls, record: HashtagRecord) -> Hashtag:
        return cls(
            name=record.name,
            post_count=record.post_count,
            record_id=record.id,
        )

    @strawberry.field(
        description="TOP: most engagement over the last 7 days first, then older posts, newest "
        "first. RECENT: newest first."
    )
    async def posts(
        self,
        info: Info[Context, None],
        first: int = 20,
        after: str | None = None,
        order: HashtagPostOrder = HashtagPostOrder.TOP,
    ) -> PostConnection:
        loaded = await discover_fields.hashtag_posts_page(
            info.context, self.record_id, order=HashtagOrder(order.value), first=first, after=after
        )
        return post_connection(loaded, info, after=after, total_count=self.post_count)


@strawberry.type
class SearchResults:
    users: list[User]
    hashtags: list[Hashtag]
    query: strawberry.Private[str]

    @strawberry.field(description="Posts whose caption matches, most relevant first, then newest.")
    async def posts(
        self, info: Info[Context, None], first: int = 20, after: str | None = None
    ) -> PostConnection:
        loaded = await discover_fields.search_posts_page(
            info.context, self.query, first=first, after=after
        )
        return post_connection(loaded, info, after=after)
