"""`Post`, `Comment`, and the inputs and payloads of their mutations."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry
from strawberry.types import Info

from resolvers import posts as post_fields
from resolvers.context import Context
from resolvers.posts import LoadedPosts
from schema.errors import MutationInput, Payload
from schema.media import Media
from schema.node import Node
from schema.pagination import Connection
from schema.ranker import RankingExplanation
from schema.users import User
from services.hashtags import parse_hashtags
from services.post_views import PostView
from services.posts import is_visible
from services.records import CommentRecord, PostRecord


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

    @strawberry.field
    def hashtags(self) -> list[str]:
        return parse_hashtags(self.record.caption)

    @strawberry.field
    def status(self) -> PostStatus:
        return PostStatus(self.record.status)

    comment_count: int
    created_at: datetime
    published_at: datetime | None
    author: User
    media: list[Media]
    like_count: int
    viewer_has_liked: bool
    record: strawberry.Private[PostRecord]

    @classmethod
    def from_view(cls, view: PostView, info: Info[Context, None]) -> Post:
        """Every field a plain value: the view was loaded for the whole page in one batched
        read, so resolving a page creates no awaitable per post field (docs/architecture.md). What
        takes work to compute (hashtags, enums) is computed when a query asks for it."""
        record = view.post
        return cls(
            record_id=record.id,
            caption=record.caption,
            comment_count=record.comment_count,
            created_at=record.created_at,
            published_at=record.published_at,
            author=User.from_record(view.author),
            media=[Media.from_record(m, info, alt_text=alt) for m, alt in view.media],
            like_count=view.like_count,
            viewer_has_liked=view.viewer_has_liked,
            record=record,
        )

    @classmethod
    async def load(cls, post_id: int, info: Info[Context, None]) -> Post | None:
        """The post with what it shows, in one batched read; None when there is no such row or
        the viewer may not see it (services.posts.is_visible: services.visibility's rule):
        queries and mutations alike."""
        views = await post_fields.load_views(info.context, [post_id])
        if not views or not is_visible(views[0], info.context.viewer_id):
            return None
        return cls.from_view(views[0], info)

    @strawberry.field(
        description="Why the viewer's home feed (order RANKED) served this post: the features "
        "that weighed most, as served. Null for anyone but the viewer whose feed served it "
        "(within a day)."
    )
    async def ranking_explanation(self, info: Info[Context, None]) -> RankingExplanation | None:
        found = await info.context.loaders.ranking_explanation_by_post_id.load(self.record.id)
        return None if found is None else RankingExplanation.of(found)

    @strawberry.field(description="Comments, oldest first.")
    async def comments(
        self, info: Info[Context, None], first: int = 20, after: str | None = None
    ) -> Connection[Comment]:
        page = await post_fields.comments_page(
            info.context, self.record.id, first=first, after=after
        )
        return Connection.of(page, Comment.from_record, after=after, total_count=self.comment_count)

    @strawberry.field(description="Who liked the post, most recent first.")
    async def likers(
        self, info: Info[Context, None], first: int = 20, after: str | None = None
    ) -> Connection[User]:
        page = await post_fields.likers_page(info.context, self.record.id, first=first, after=after)
        return Connection.of(page, User.from_record, after=after, total_count=self.like_count)


def post_connection(
    loaded: LoadedPosts,
    info: Info[Context, None],
    *,
    after: str | None,
    total_count: int | None = None,
) -> Connection[Post]:
    """The connection of a loaded page of posts. Pure."""
    return Connection.of(
        loaded.page,
        lambda post: Post.from_view(loaded.views[post.id], info),
        after=after,
        total_count=total_count,
    )


@strawberry.type
class Comment(Node):
    text: str
    created_at: datetime
    record: strawberry.Private[CommentRecord]

    @classmethod
    def from_record(cls, record: CommentRecord) -> Comment:
        return cls(
            record_id=record.id,
            text=record.text,
            created_at=record.created_at,
            record=record,
        )

    @strawberry.field
    def author(self) -> User:
        return User.from_record(self.record.author)

    @strawberry.field
    async def post(self, info: Info[Context, None]) -> Post:
        post = await Post.load(self.record.post_id, info)
        assert post is not None, f"post {self.record.post_id} vanished"  # FK: comments go with it
        return post


@strawberry.input
class CreatePostMediaInput:
    media_id: strawberry.ID
    alt_text: str | None = strawberry.field(
        default=None, description="Describes the picture or video to people who cannot see it."
    )


@strawberry.input
class CreatePostInput(MutationInput):
    media: list[CreatePostMediaInput] = strawberry.field(
        description="1 to 10 of the viewer's uploaded media items, in carousel order."
    )
    caption: str | None = None


@strawberry.input
class DeletePostInput(MutationInput):
    post_id: strawberry.ID


@strawberry.input
class LikePostInput(MutationInput):
    post_id: strawberry.ID


@strawberry.input
class UnlikePostInput(MutationInput):
    post_id: strawberry.ID


@strawberry.input
class AddCommentInput(MutationInput):
    post_id: strawberry.ID
    text: str


@strawberry.input
class DeleteCommentInput(MutationInput):
    comment_id: strawberry.ID


@strawberry.type
class CreatePostPayload(Payload):
    post: Post | None = None


@strawberry.type
class DeletePostPayload(Payload):
    deleted_post_id: strawberry.ID | None = None


@strawberry.type
class LikePostPayload(Payload):
    post: Post | None = None


@strawberry.type
class UnlikePostPayload(Payload):
    post: Post | None = None


@strawberry.type
class AddCommentPayload(Payload):
    comment: Comment | None = None


@strawberry.type
class DeleteCommentPayload(Payload):
    deleted_comment_id: strawberry.ID | None = None


PostConnection = Connection[Post]
