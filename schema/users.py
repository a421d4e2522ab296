"""`User`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from resolvers import posts as post_fields
from resolvers import users as user_fields
from resolvers.context import Context
from schema.leaving import DataExport
from schema.node import Node
from schema.pagination import Connection
from schema.sessions import Session
from services.pagination import Page
from services.records import UserRecord

if TYPE_CHECKING:
    from schema.posts import Post


@strawberry.type(description="A square crop of a user's profile picture.")
class ProfilePicture:
    url: str
    width: int
    height: int


@strawberry.type
class User(Node):
    username: str
    full_name: str | None
    bio: str | None
    follower_count: int
    following_count: int
    post_count: int
    created_at: datetime
    is_private: bool = strawberry.field(
        description="Only approved followers see this account's posts, followers and following "
        "(everyone sees its name, bio, picture and counts)."
    )

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
            is_private=record.is_private,
            record_id=record.id,
        )

    @strawberry.field(description="Whether the signed-in viewer follows this user.")
    async def viewer_is_following(self, info: Info[Context, None]) -> bool:
        return await user_fields.viewer_is_following(info.context, self.record_id)

    @strawberry.field(description="Whether this user follows the signed-in viewer.")
    async def follows_viewer(self, info: Info[Context, None]) -> bool:
        return await user_fields.follows_viewer(info.context, self.record_id)

    @strawberry.field(
        description="The user's profile picture: the smallest square crop (320, 150 or 64 px) at "
        "least `minWidth` wide, else the largest; null when the user has none."
    )
    async def profile_picture(
        self, info: Info[Context, None], min_width: int | None = None
    ) -> ProfilePicture | None:
        crop = await user_fields.profile_picture(info.context, self.record_id, min_width)
        if crop is None:
            return None
        return ProfilePicture(
            url=info.context.resources.blobs.public_url(crop.key),
            width=crop.width,
            height=crop.height,
        )

    @strawberry.field(
        description="The account's email address: the signed-in viewer's own only (null for "
        "every other user)."
    )
    async def email(self, info: Info[Context, None]) -> str | None:
        account = await user_fields.own_account_email(info.context, self.record_id)
        return account.email if account else None

    @strawberry.field(
        description="Whether the account's email address is confirmed: the signed-in viewer's "
        "own only (null for every other user)."
    )
    async def email_verified(self, info: Info[Context, None]) -> bool | None:
        account = await user_fields.own_account_email(info.context, self.record_id)
        return account.email_verified_at is not None if account else None

    @strawberry.field(
        description="The account's signed-in devices, most recently used first (at most 50): "
        "the signed-in viewer's own only (null for every other user)."
    )
    async def sessions(self, info: Info[Context, None]) -> list[Session] | None:
        listed = await user_fields.own_sessions(info.context, self.record_id)
        if listed is None:
            return None
        current = info.context.require_viewer().session_id
        return [Session.from_listing(listing, current) for listing in listed]

    @strawberry.field(
        description="Whether log-ins need a second factor (TOTP): the signed-in viewer's own "
        "only (null for every other user)."
    )
    async def two_factor_enabled(self, info: Info[Context, None]) -> bool | None:
        return await user_fields.own_two_factor_enabled(info.context, self.record_id)

    @strawberry.field(
        description="The account's latest data export (requestDataExport) and its progress: the "
        "signed-in viewer's own only (null for every other user, and before any export)."
    )
    async def data_export(self, info: Info[Context, None]) -> DataExport | None:
        state = await user_fields.own_data_export(info.context, self.record_id)
        return DataExport.from_state(state) if state else None

    @strawberry.field(description="Whether the viewer has a pending request to follow this user.")
    async def viewer_follow_requested(self, info: Info[Context, None]) -> bool:
        relation = await user_fields.relation(info.context, self.record_id)
        return relation is not None and relation.viewer_requested

    @strawberry.field(description="Whether the viewer blocked this user (false when anonymous).")
    async def viewer_has_blocked(self, info: Info[Context, None]) -> bool:
        relation = await user_fields.relation(info.context, self.record_id)
        return relation is not None and relation.viewer_has_blocked

    @strawberry.field(description="Whether the viewer muted this user (false when anonymous).")
    async def viewer_has_muted(self, info: Info[Context, None]) -> bool:
        relation = await user_fields.relation(info.context, self.record_id)
        return relation is not None and relation.viewer_has_muted

    @strawberry.field(
        description="The user's published posts, newest first (profile grid); empty (and "
        "totalCount 0) for a viewer who may not see them (a private account they do not follow)."
    )
    async def posts(
        self, info: Info[Context, None], first: int = 12, after: str | None = None
    ) -> Connection[Annotated[Post, strawberry.lazy("schema.posts")]]:
        from schema.posts import post_connection  # schema.posts imports this module

        page = await post_fields.author_posts_page(
            info.context, self.record_id, first=first, after=after
        )
        loaded = await post_fields.load_page(info.context, page)
        total = await self._list_total(info, self.post_count)
        return post_connection(loaded, info, after=after, total_count=total)

    @strawberry.field(
        description="Who follows this user, most recent first; empty (and totalCount 0) for a "
        "viewer who may not see this user's content."
    )
    async def followers(
        self, info: Info[Context, None], first: int = 20, after: str | None = None
    ) -> Connection[User]:
        page = await user_fields.followers_page(
            info.context, self.record_id, first=first, after=after
        )
        total = await self._list_total(info, self.follower_count)
        return Connection.of(page, User.from_record, after=after, total_count=total)

    @strawberry.field(
        description="Whom this user follows, most recent first; empty (and totalCount 0) for a "
        "viewer who may not see this user's content."
    )
    async def following(
        self, info: Info[Context, None], first: int = 20, after: str | None = None
    ) -> Connection[User]:
        page = await user_fields.following_page(
            info.context, self.record_id, first=first, after=after
        )
        total = await self._list_total(info, self.following_count)
        return Connection.of(page, User.from_record, after=after, total_count=total)

    @strawberry.field(
        description="Pending requests to follow this user, newest first; null unless this user "
        "is the viewer."
    )
    async def follow_requests(
        self, info: Info[Context, None], first: int = 20, after: str | None = None
    ) -> Connection[User] | None:
        found = await user_fields.follow_requests_page(
            info.context, self.record_id, first=first, after=after
        )
        return _own_list(found, after)

    @strawberry.field(
        description="The accounts this user blocked, most recent first; null unless this user "
        "is the viewer."
    )
    async def blocked_users(
        self, info: Info[Context, None], first: int = 20, after: str | None = None
    ) -> Connection[User] | None:
        found = await user_fields.blocked_page(
            info.context, self.record_id, first=first, after=after
        )
        return _own_list(found, after)

    @strawberry.field(
        description="The accounts this user muted, most recent first; null unless this user "
        "is the viewer."
    )
    async def muted_users(
        self, info: Info[Context, None], first: int = 20, after: str | None = None
    ) -> Connection[User] | None:
        found = await user_fields.muted_page(info.context, self.record_id, first=first, after=after)
        return _own_list(found, after)

    async def _list_total(self, info: Info[Context, None], count: int) -> int:
        """A follow list's totalCount: the profile's count, 0 when the list is hidden."""
        return count if await user_fields.may_see_content(info.context, self.record_id) else 0


def _own_list(
    found: tuple[Page[UserRecord], int] | None, after: str | None
) -> Connection[User] | None:
    if found is None:
        return None
    page, total = found
    return Connection.of(page, User.from_record, after=after, total_count=total)
