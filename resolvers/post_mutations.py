"""Mutations of posts, likes and comments."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers.context import Context
from schema.errors import user_errors
from schema.global_ids import decode_id_of_type, encode_global_id
from schema.posts import (
    AddCommentInput,
    AddCommentPayload,
    Comment,
    CreatePostInput,
    CreatePostPayload,
    DeleteCommentPayload,
    DeletePostPayload,
    LikePostPayload,
    Post,
)
from services import comments, likes, posts
from services.errors import DomainError, UserErrorCode


def _record_id(global_id: str, type_name: str, field: str) -> int:
    record_id = decode_id_of_type(global_id, type_name)
    if record_id is None:
        raise DomainError.single(UserErrorCode.NOT_FOUND, f"No such {type_name.lower()}.", field)
    return record_id


@strawberry.type
class PostMutations:
    @strawberry.mutation(
        description="Publishes once every media item is READY (PROCESSING until then)."
    )
    async def create_post(
        self, info: Info[Context, None], input: CreatePostInput
    ) -> CreatePostPayload:
        viewer = info.context.require_viewer()
        try:
            media_ids = [_record_id(media_id, "Media", "mediaIds") for media_id in input.media_ids]
            record = await posts.create_post(
                info.context.resources.posts,
                viewer,
                media_ids=media_ids,
                caption=input.caption,
                alt_texts=list(input.alt_texts or []),
            )
        except DomainError as error:
            return CreatePostPayload(user_errors=user_errors(error, input_argument="input"))
        return CreatePostPayload(post=await Post.load(record.id, info))

    @strawberry.mutation(description="Delete one of the viewer's posts.")
    async def delete_post(
        self, info: Info[Context, None], post_id: strawberry.ID
    ) -> DeletePostPayload:
        viewer = info.context.require_viewer()
        try:
            deleted = await posts.delete_post(
                info.context.resources.posts, viewer, _record_id(post_id, "Post", "postId")
            )
        except DomainError as error:
            return DeletePostPayload(user_errors=user_errors(error))
        return DeletePostPayload(deleted_post_id=encode_global_id("Post", deleted))

    @strawberry.mutation(description="Like a post. Liking again changes nothing.")
    async def like_post(self, info: Info[Context, None], post_id: strawberry.ID) -> LikePostPayload:
        return await _change_like(info, post_id, like=True)

    @strawberry.mutation(description="Take a like back. Unliking again changes nothing.")
    async def unlike_post(
        self, info: Info[Context, None], post_id: strawberry.ID
    ) -> LikePostPayload:
        return await _change_like(info, post_id, like=False)

    @strawberry.mutation(description="Comment on a published post.")
    async def add_comment(
        self, info: Info[Context, None], input: AddCommentInput
    ) -> AddCommentPayload:
        viewer = info.context.require_viewer()
        try:
            record = await comments.add_comment(
                info.context.resources.social,
                viewer,
                post_id=_record_id(input.post_id, "Post", "postId"),
                text=input.text,
            )
        except DomainError as error:
            return AddCommentPayload(user_errors=user_errors(error, input_argument="input"))
        return AddCommentPayload(comment=Comment.from_record(record))

    @strawberry.mutation(description="Delete a comment (its author, or the post's author).")
    async def delete_comment(
        self, info: Info[Context, None], comment_id: strawberry.ID
    ) -> DeleteCommentPayload:
        viewer = info.context.require_viewer()
        try:
            deleted = await comments.delete_comment(
                info.context.resources.social,
                viewer,
                _record_id(comment_id, "Comment", "commentId"),
            )
        except DomainError as error:
            return DeleteCommentPayload(user_errors=user_errors(error))
        return DeleteCommentPayload(deleted_comment_id=encode_global_id("Comment", deleted))


async def _change_like(info: Info[Context, None], post_id: str, *, like: bool) -> LikePostPayload:
    context = info.context
    viewer = context.require_viewer()
    try:
        record_id = _record_id(post_id, "Post", "postId")
        change = likes.like_post if like else likes.unlike_post
        await change(context.resources.social, viewer, record_id)
    except DomainError as error:
        return LikePostPayload(user_errors=user_errors(error))
    return LikePostPayload(post=await Post.load(record_id, info))
