"""Comments: add on a published post, delete (its author or the post's author), list oldest
first. The post's comment count is kept exact in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence

from services import notifications, visibility
from services.auth import Viewer
from services.cursors import decode_time_id_cursor, encode_time_id_cursor
from services.errors import DomainError, UserError, UserErrorCode
from services.hashtags import parse_mentions
from services.pagination import (
    Page,
    check_page_size,
    page_of,
)
from services.social import SocialDeps
from services.text import clean_text
from storage.pg import Db, transaction
from storage.pg import comments as comment_store
from storage.pg import posts as post_store
from storage.pg.comments import CommentRecord

MAX_COMMENT_LENGTH = 2200


async def add_comment(
    deps: SocialDeps, viewer: Viewer, *, post_id: int, text: str
) -> CommentRecord:
    """Comment on a published post. Raises DomainError INVALID_INPUT / NOT_FOUND (also a post
    the viewer may not see) / BLOCKED (a post of, or a mention of, an account the viewer
    blocked) / RATE_LIMITED.

    Side effects: a comments row, the post's comment_count + 1, COMMENT and MENTION
    notifications, in one transaction; then their pushes and the post's live counts.
    """
    cleaned = clean_text(text, field=("text",), max_length=MAX_COMMENT_LENGTH, multiline=True)
    if isinstance(cleaned, UserError):
        raise DomainError(cleaned)
    if cleaned is None:
        raise DomainError.single(
            UserErrorCode.INVALID_INPUT,
            f"A comment has 1 to {MAX_COMMENT_LENGTH} characters.",
            "text",
        )
    db, redis = deps.db, deps.redis
    await deps.ensure_allowed("comment", viewer.user_id)
    async with transaction(db) as conn:
        post = await visibility.published_post_to_act_on(conn, viewer.user_id, post_id)
        await visibility.refuse_mentions_of_blocked(
            conn, viewer.user_id, parse_mentions(cleaned), field="text"
        )
        comment = await comment_store.insert_comment(
            conn, post_id=post_id, author_id=viewer.user_id, text=cleaned
        )
        deliveries = await notifications.record_comment(
            conn, post_author_id=post.author_id, comment=comment
        )
    await deps.count("comment", viewer.user_id)
    await notifications.announce(redis, deliveries, counts_changed_on=post_id)
    return comment


async def delete_comment(deps: SocialDeps, viewer: Viewer, comment_id: int) -> int:
    """Delete a comment: allowed to its author and to the post's author.

    Raises DomainError NOT_FOUND (also a comment of a deleted post) / FORBIDDEN. Side effects:
    the row goes, the count - 1, its notifications are retracted.
    """
    db, redis = deps.db, deps.redis
    async with transaction(db) as conn:
        found = await comment_store.fetch_comments_by_ids(conn, [comment_id])
        if not found:
            raise DomainError.single(UserErrorCode.NOT_FOUND, "No such comment.", "commentId")
        comment = found[0]
        (post,) = await post_store.fetch_posts_by_ids(conn, [comment.post_id])
        if post.status != "PUBLISHED":  # hidden with its post (as in fetch_comments)
            raise DomainError.single(UserErrorCode.NOT_FOUND, "No such comment.", "commentId")
        if viewer.user_id not in (comment.author_id, post.author_id):
            raise DomainError.single(
                UserErrorCode.FORBIDDEN,
                "Only the comment's author or the post's author can delete it.",
                "commentId",
            )
        await comment_store.delete_comment(conn, comment_id)
        deliveries = await notifications.retract_comment(
            conn, post_author_id=post.author_id, comment=comment
        )
    await notifications.announce(redis, deliveries, counts_changed_on=comment.post_id)
    return comment_id


async def fetch_comments(
    db: Db, viewer_id: int | None, comment_ids: list[int]
) -> list[CommentRecord]:
    """The comments among these ids that the viewer may see: their post is published and
    visible to them, and no block stands between them and the comment's author
    (services.visibility; comments of deleted posts are not shown)."""
    if not comment_ids:
        return []
    return await comment_store.fetch_visible_comments_by_ids(db, comment_ids, viewer_id)


async def list_comments(
    db: Db, viewer_id: int | None, post_id: int, *, first: int, after: str | None
) -> Page[CommentRecord]:
    """The post's comments the viewer may see (as fetch_comments), oldest first, one keyset
    page."""
    limit = check_page_size(first)
    rows = await comment_store.fetch_comments_page(
        db, post_id, viewer_id, limit=limit + 1, after=decode_time_id_cursor(after)
    )
    return page_of([(encode_time_id_cursor(c.created_at, c.id), c) for c in rows], limit)


async def list_first_comments(
    db: Db, viewer_id: int | None, post_ids: Sequence[int], *, first: int
) -> dict[int, Page[CommentRecord]]:
    """The first page (`first` comments, as list_comments without a cursor) of each of
    `post_ids`, by post id: one statement for all of them (a post the viewer may not see gets
    an empty page, as list_comments gives it)."""
    limit = check_page_size(first)
    found = await comment_store.fetch_first_comments_of_posts(
        db, post_ids, viewer_id, limit=limit + 1
    )
    return {
        post_id: page_of(
            [(encode_time_id_cursor(c.created_at, c.id), c) for c in found.get(post_id, [])],
            limit,
        )
        for post_id in post_ids
    }
