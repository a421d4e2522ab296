"""`Post`, `Comment`, their connections, and the inputs and payloads of their mutations."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry
from strawberry.types import Info

from resolvers import posts as post_fields
from resolvers.context import Context
from schema.errors import UserError
from schema.global_ids import encode_global_id
from schema.media import Media
from schema.node import Node
from schema.pagination import PageInfo
from schema.users import User, UserConnection
from services.hashtags import parse_hashtags
from services.pagination import Page
from storage.pg.comments import CommentRecord
from storage.pg.posts import PostRecord


@strawberry.enum
class PostStatus(enum.Enum):
    PROCESSING = "PROCESSING"
    PUBLISHED = "PUBLISHED"
    REJECTED = "REJECTED"
    FAILED = "FAILED"
    DELETED = "DELETED"


@strawberry.type(description="A post is a caption with 1 to 10 media items (a carousel when more).")
class Post(Node):
    caption: str | None
    hashtags: list[str]
    status: PostStatus
    comment_count: int
    created_at: datetime
    published_at: datetime | None
    record: strawberry.Private[PostRecord]

    @classmethod
    def from_record(cls, record: PostRecord) -> Post:
        return cls(
            id=encode_global_id("Post", record.id),
            caption=record.caption,
            hashtags=parse_hashtags(record.caption),
            status=PostStatus(record.status),
            comment_count=record.comment_count,
            created_at=record.created_at,
            published_at=record.published_at,
            record=record,
        )

    @strawberry.field
    async def author(self, info: Info[Context, None]) -> User:
        return User.from_record(await post_fields.user(info.context, self.record.author_id))

    @strawberry.field
    async def media(self, info: Info[Context, None]) -> list[Media]:
        items = await post_fields.post_media(info.context, self.record.id)
        return [Media.from_record(record, info, alt_text=alt) for record, alt in items]

    @strawberry.field
    async def like_count(self, info: Info[Context, None]) -> int:
        return await post_fields.like_count(info.context, self.record.id)

    @strawberry.field
    async def viewer_has_liked(self, info: Info[Context, None]) -> bool:
        return await post_fields.viewer_has_liked(info.context, self.record.id)

    @strawberry.field(description="Comments, oldest first.")
    async def comments(
        self, info: Info[Context, None], first: int = 20, after: str | None = None
    ) -> CommentConnection:
        page = await post_fields.comments_page(
            info.context, self.record.id, first=first, after=after
        )
        return CommentConnection.from_page(page, after=after)

    @strawberry.field(description="Who liked the post, most recent first.")
    async def likers(
        self, info: Info[Context, None], first: int = 20, after: str | None = None
    ) -> UserConnection:
        page = await post_fields.likers_page(info.context, self.record.id, first=first, after=after)
        return UserConnection.from_page(page, after=after)


@strawberry.type
class PostEdge:
    cursor: str
    node: Post


@strawberry.type
class PostConnection:
    edges: list[PostEdge]
    page_info: PageInfo

    @classmethod
    def from_page(cls, page: Page[PostRecord], *, after: str | None) -> PostConnection:
        edges = [
            PostEdge(cursor=cursor, node=Post.from_record(post)) for cursor, post in page.edges
        ]
        return cls(
            edges=edges,
            page_info=PageInfo.of(
                [edge.cursor for edge in edges],
                has_next_page=page.has_next_page,
                has_previous_page=after is not None,
            ),
        )


@strawberry.type
class Comment(Node):
    text: str
    created_at: datetime
    record: strawberry.Private[CommentRecord]

    @classmethod
    def from_record(cls, record: CommentRecord) -> Comment:
        return cls(
            id=encode_global_id("Comment", record.id),
            text=record.text,
            created_at=record.created_at,
            record=record,
        )

    @strawberry.field
    async def author(self, info: Info[Context, None]) -> User:
        return User.from_record(await post_fields.user(info.context, self.record.author_id))

    @strawberry.field
    async def post(self, info: Info[Context, None]) -> Post:
        return Post.from_record(await post_fields.post(info.context, self.record.post_id))


@strawberry.type
class CommentEdge:
    cursor: str
    node: Comment


@strawberry.type
class CommentConnection:
    edges: list[CommentEdge]
    page_info: PageInfo

    @classmethod
    def from_page(cls, page: Page[CommentRecord], *, after: str | None) -> CommentConnection:
        edges = [
            CommentEdge(cursor=cursor, node=Comment.from_record(c)) for cursor, c in page.edges
        ]
        return cls(
            edges=edges,
            page_info=PageInfo.of(
                [edge.cursor for edge in edges],
                has_next_page=page.has_next_page,
                has_previous_page=after is not None,
            ),
        )


@strawberry.input
class CreatePostInput:
    media_ids: list[strawberry.ID]
    caption: str | None = None
    alt_texts: list[str | None] | None = None


@strawberry.input
class AddCommentInput:
    post_id: strawberry.ID
    text: str


@strawberry.type
class CreatePostPayload:
    post: Post | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeletePostPayload:
    deleted_post_id: strawberry.ID | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class LikePostPayload:
    post: Post | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class AddCommentPayload:
    comment: Comment | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeleteCommentPayload:
    deleted_comment_id: strawberry.ID | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
