"""Mutations of posts, likes and comments."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers.context import Context
from schema.errors import UserError, user_errors
from schema.global_ids import decode_id_of_type, encode_global_id
from schema.posts import (
    AddCommentInput,
    AddCommentPayload,
    Comment,
    CreatePostInput,
    CreatePostPayload,
    DeleteCommentInput,
    DeleteCommentPayload,
    DeletePostInput,
    DeletePostPayload,
    LikePostInput,
    LikePostPayload,
    Post,
    UnlikePostInput,
    UnlikePostPayload,
)
from services import comments, errors, likes, posts
from services.errors import DomainError, UserErrorCode


def _record_id(global_id: str, type_name: str, field: str) -> int:
    record_id = decode_id_of_type(global_id, type_name)
    if record_id is None:
        raise DomainError.single(UserErrorCode.NOT_FOUND, f"No such {type_name.lower()}.", field)
    return record_id


def _media_record_ids(input: CreatePostInput) -> list[int]:
    """The record ids of the post's media. Raises DomainError NOT_FOUND, its field the path of
    the first ID that is not a Media's (["media", "<index>", "mediaId"])."""
    media_ids = []
    for index, item in enumerate(input.media):
        record_id = decode_id_of_type(item.media_id, "Media")
        if record_id is None:
            raise DomainError(
                errors.UserError(
                    UserErrorCode.NOT_FOUND, "No such media.", ("media", str(index), "mediaId")
                )
            )
        media_ids.append(record_id)
    return media_ids


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
            record = await posts.create_post(
                info.context.resources.posts,
                viewer,
                media_ids=_media_record_ids(input),
                caption=input.caption,
                alt_texts=[item.alt_text for item in input.media],
            )
        except DomainError as error:
            return CreatePostPayload.refused(error, input)
        return CreatePostPayload(
            post=await Post.load(record.id, info), client_mutation_id=input.client_mutation_id
        )

    @strawberry.mutation(description="Delete one of the viewer's posts.")
    async def delete_post(
        self, info: Info[Context, None], input: DeletePostInput
    ) -> DeletePostPayload:
        viewer = info.context.require_viewer()
        try:
            deleted = await posts.delete_post(
                info.context.resources.posts, viewer, _record_id(input.post_id, "Post", "postId")
            )
        except DomainError as error:
            return DeletePostPayload.refused(error, input)
        return DeletePostPayload(
            deleted_post_id=encode_global_id("Post", deleted),
            client_mutation_id=input.client_mutation_id,
        )

    @strawberry.mutation(description="Like a post. Liking again changes nothing.")
    async def like_post(self, info: Info[Context, None], input: LikePostInput) -> LikePostPayload:
        problems, post = await _change_like(info, input.post_id, like=True)
        return LikePostPayload(
            post=post, user_errors=problems, client_mutation_id=input.client_mutation_id
        )

    @strawberry.mutation(description="Take a like back. Unliking again changes nothing.")
    async def unlike_post(
        self, info: Info[Context, None], input: UnlikePostInput
    ) -> UnlikePostPayload:
        problems, post = await _change_like(info, input.post_id, like=False)
        return UnlikePostPayload(
            post=post, user_errors=problems, client_mutation_id=input.client_mutation_id
        )

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
            return AddCommentPayload.refused(error, input)
        return AddCommentPayload(
            comment=Comment.from_record(record), client_mutation_id=input.client_mutation_id
        )

    @strawberry.mutation(description="Delete a comment (its author, or the post's author).")
    async def delete_comment(
        self, info: Info[Context, None], input: DeleteCommentInput
    ) -> DeleteCommentPayload:
        viewer = info.context.require_viewer()
        try:
            deleted = await comments.delete_comment(
                info.context.resources.social,
                viewer,
                _record_id(input.comment_id, "Comment", "commentId"),
            )
        except DomainError as error:
            return DeleteCommentPayload.refused(error, input)
        return DeleteCommentPayload(
            deleted_comment_id=encode_global_id("Comment", deleted),
            client_mutation_id=input.client_mutation_id,
        )


async def _change_like(
    info: Info[Context, None], post_id: str, *, like: bool
) -> tuple[list[UserError], Post | None]:
    """Like or unlike; the user errors (nothing changed then) and the post as it is now.
    Side effects: see services.likes.like_post / unlike_post."""
    context = info.context
    viewer = context.require_viewer()
    try:
        record_id = _record_id(post_id, "Post", "postId")
        change = likes.like_post if like else likes.unlike_post
        await change(context.resources.social, viewer, record_id)
    except DomainError as error:
        return user_errors(error), None
    return [], await Post.load(record_id, info)
