"""THE visibility rule: may a viewer see a user, a user's content, a post (docs/privacy.md).

    blocked(V, U)         a block either way between V and U, or U hidden from everyone as
                          by a block: deactivated (by its owner, or pending deletion) or
                          suspended (banned, or suspended until a time still ahead)
    may_see_user(V, U)    not blocked(V, U)                    (anonymous: never blocked)
    may_see_content(V, U) may_see_user(V, U) and (U public or V is U or V follows U)
    may_see_post(V, P)    (P published, or V its author and P not deleted)
                          and not held(P) and may_see_content(V, P.author)
    held(X)               moderation holds X (a post, comment or media item) back from
                          everyone, its author included: X HIDDEN_PENDING_REVIEW or REMOVED
                          (docs/moderation.md)

"Content" of U: U's posts (their media, comments and likers), U's followers and following
lists. A comment is visible when its post is and its author may be seen; so is a liker, and a
user listed in followers/following when the list's owner's content is visible.

This module decides from facts (services.visibility.Relation, read by
storage.pg.visibility.fetch_relations); lists filter in SQL with the same rule written once in
storage.pg.visibility (its fragments are used by every query that reads for a viewer).
"""

from __future__ import annotations

from collections.abc import Sequence

from services.errors import DomainError, UserErrorCode
from storage.pg import Db
from storage.pg import posts as post_store
from storage.pg import visibility as visibility_store
from storage.pg.posts import PostRecord
from storage.pg.visibility import Relation

__all__ = [
    "Relation",
    "fetch_relations",
    "may_see_content",
    "may_see_post",
    "may_see_user",
    "post_status_visible",
]


def blocked(relation: Relation | None) -> bool:
    """A block either way, or the user hidden from everyone (deactivated or suspended;
    None: anonymous, or no relation read: never blocked)."""
    return relation is not None and (
        relation.viewer_has_blocked or relation.blocks_viewer or relation.hidden
    )


def may_see_user(viewer_id: int | None, user_id: int, relation: Relation | None) -> bool:
    """The viewer may see that the user exists (profile: name, bio, picture, counts)."""
    return viewer_id == user_id or not blocked(relation)


def may_see_content(viewer_id: int | None, user_id: int, relation: Relation) -> bool:
    """The viewer may see the user's posts, followers and following."""
    if viewer_id == user_id:
        return True
    return not blocked(relation) and (not relation.is_private or relation.viewer_follows)


def held_by_moderation(moderation_state: str | None) -> bool:
    """Moderation holds the content back from everyone, its author included:
    HIDDEN_PENDING_REVIEW or REMOVED (storage.pg.visibility.not_held_sql)."""
    return moderation_state is not None


def post_status_visible(post: PostRecord, viewer_id: int | None) -> bool:
    """Published posts, and the author's own unpublished (not deleted) ones; none that
    moderation holds back from the viewer."""
    status_allows = post.status == "PUBLISHED" or (
        post.status != "DELETED" and post.author_id == viewer_id
    )
    return status_allows and not held_by_moderation(post.moderation_state)


def may_see_post(viewer_id: int | None, post: PostRecord, author: Relation) -> bool:
    """The viewer may see the post: its status allows it and its author's content is visible.
    `author`: the viewer's relation to the post's author."""
    return post_status_visible(post, viewer_id) and may_see_content(
        viewer_id, post.author_id, author
    )


async def fetch_relations(
    db: Db, viewer_id: int | None, user_ids: Sequence[int]
) -> dict[int, Relation]:
    """{user id: the viewer's relation to them} for the existing users among `user_ids` (one
    query; anonymous viewers too: they follow and block nobody)."""
    if not user_ids:
        return {}
    found = await visibility_store.fetch_relations(db, viewer_id, list(dict.fromkeys(user_ids)))
    return {relation.user_id: relation for relation in found}


async def published_post_to_act_on(db: Db, viewer_id: int, post_id: int) -> PostRecord:
    """The published post the viewer is about to like, unlike or comment on. Raises
    DomainError NOT_FOUND when there is none or the viewer may not see it (also when its author
    blocked the viewer: a block is never revealed; also when moderation holds it back, from
    its author too), BLOCKED when the viewer blocked its author.
    """
    found = await post_store.fetch_posts_by_ids(db, [post_id])
    if not found or found[0].status != "PUBLISHED" or held_by_moderation(found[0].moderation_state):
        raise DomainError.single(UserErrorCode.NOT_FOUND, "No such post.", "postId")
    post = found[0]
    if post.author_id == viewer_id:
        return post
    relation = (await fetch_relations(db, viewer_id, [post.author_id]))[post.author_id]
    if relation.viewer_has_blocked and not relation.blocks_viewer:
        raise DomainError.single(
            UserErrorCode.BLOCKED, "You blocked this account; unblock it first.", "postId"
        )
    if not may_see_post(viewer_id, post, relation):
        raise DomainError.single(UserErrorCode.NOT_FOUND, "No such post.", "postId")
    return post


async def refuse_mentions_of_blocked(
    db: Db, viewer_id: int, usernames: Sequence[str], *, field: str
) -> None:
    """Raise DomainError BLOCKED on `field` (the input's text: a comment's `text`, a post's
    `caption`) when the viewer mentions an account they blocked. Mentions of accounts that
    blocked the viewer stay plain text (no notification: services.notifications), never an
    error (a block is never revealed)."""
    if not usernames:
        return
    blocked_ids = await visibility_store.fetch_blocked_by_viewer_among(db, viewer_id, usernames)
    if blocked_ids:
        raise DomainError.single(
            UserErrorCode.BLOCKED,
            "You mention an account you blocked; unblock it first.",
            field,
        )
