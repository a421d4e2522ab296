"""`User` and its connection."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from resolvers import posts as post_fields
from resolvers import users as user_fields
from resolvers.context import Context
from schema.node import Node
from schema.pagination import PageInfo
from services.pagination import Page
from services.records import UserRecord

if TYPE_CHECKING:
    from schema.posts import PostConnection


@strawberry.type
class User(Node):
    username: str
    full_name: str | None
    bio: str | None
    follower_count: int
    following_count: int
    post_count: int
    created_at: datetime

    @classmethod
    def from_record(cls, record: UserRecord) -> User:
        return cls(
            username=record.username,
            full_name=record.full_name,
            bio=record.bio,
            follower_count=record.follower_count,
            following_count=record.following_count,
            post_count=record.post_count,
            created_at=record.created_at,
            record_id=record.id,
        )

    @strawberry.field(description="Whether the signed-in viewer follows this user.")
    async def viewer_is_following(self, info: Info[Context, None]) -> bool:
        return await user_fields.viewer_is_following(info.context, self.record_id)

    @strawberry.field(description="Whether this user follows the signed-in viewer.")
    async def follows_viewer(self, info: Info[Context, None]) -> bool:
        return await user_fields.follows_viewer(info.context, self.record_id)

    @strawberry.field(description="The user's published posts, newest first (profile grid).")
    async def posts(
        self, info: Info[Context, None], first: int = 12, after: str | None = None
    ) -> Annotated[PostConnection, strawberry.lazy("schema.posts")]:
        from schema.posts import PostConnection  # schema.posts imports this module

        page = await post_fields.author_posts_page(
            info.context, self.record_id, first=first, after=after
        )
        loaded = await post_fields.load_page(info.context, page)
        return PostConnection.from_loaded(loaded, info, after=after)

    @strawberry.field(description="Who follows this user, most recent first.")
    async def followers(
        self, info: Info[Context, None], first: int = 20, after: str | None = None
    ) -> UserConnection:
        page = await user_fields.followers_page(
            info.context, self.record_id, first=first, after=after
        )
        return UserConnection.from_page(page, after=after)

    @strawberry.field(description="Whom this user follows, most recent first.")
    async def following(
        self, info: Info[Context, None], first: int = 20, after: str | None = None
    ) -> UserConnection:
        page = await user_fields.following_page(
            info.context, self.record_id, first=first, after=after
        )
        return UserConnection.from_page(page, after=after)


@strawberry.type
class UserEdge:
    cursor: str
    node: User


@strawberry.type
class UserConnection:
    edges: list[UserEdge]
    page_info: PageInfo

    @classmethod
    def from_page(cls, page: Page[UserRecord], *, after: str | None) -> UserConnection:
        edges = [
            UserEdge(cursor=cursor, node=User.from_record(user)) for cursor, user in page.edges
        ]
        return cls(
            edges=edges,
            page_info=PageInfo.of(page, after=after),
        )
