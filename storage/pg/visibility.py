"""The SQL form of the visibility rule (services/visibility.py holds the rule in Python; both
are described in docs/privacy.md). Every storage query that reads on behalf of a viewer
composes these fragments, so that the rule is written once in SQL too.

Each builder returns a boolean SQL expression. `viewer` is the placeholder (or expression) of
the viewer's id, NULL when anonymous: an anonymous viewer is never blocked and follows nobody.
Column and alias arguments are module constants of the callers, never input.

The fragments are anti-joins and semi-joins on primary keys and indexes (blocks' primary key
and blocks_blocked_idx, mutes' primary key, follows' primary key): one index probe per row,
whatever the number of blocks, mutes or follows of the viewer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from storage.pg import Db
from storage.pg.suspensions import suspended_sql


def hidden_account_sql(user: str) -> str:
    """The users row aliased `user` is hidden from everyone: deactivated (by its owner, or
    pending deletion; log-in reactivates it) or suspended (a ban, or a suspension not yet
    over: storage.pg.suspensions). Its owner has no session meanwhile."""
    return f"({user}.deactivated_at IS NOT NULL OR {suspended_sql(user)})"


def not_blocked_sql(user: str, viewer: str) -> str:
    """`user` (an id expression) and the viewer have no block between them, either way, and
    `user` is not hidden from everyone (hidden_account_sql: deactivated or suspended, hidden as
    a block hides it). One primary-key probe of users whatever the reason."""
    return (
        f"NOT EXISTS (SELECT 1 FROM blocks bk WHERE bk.blocker_id = {viewer}"
        f" AND bk.blocked_id = {user})"
        f" AND NOT EXISTS (SELECT 1 FROM blocks bk WHERE bk.blocked_id = {viewer}"
        f" AND bk.blocker_id = {user})"
        f" AND NOT EXISTS (SELECT 1 FROM users dz WHERE dz.id = {user}"
        f" AND {hidden_account_sql('dz')})"
    )


def not_muted_sql(user: str, viewer: str) -> str:
    """The viewer has not muted `user` (an id expression)."""
    return (
        f"NOT EXISTS (SELECT 1 FROM mutes mt WHERE mt.muter_id = {viewer} AND mt.muted_id = {user})"
    )


def content_visible_sql(user: str, viewer: str) -> str:
    """may_see_content: the viewer may see the content (posts, followers, following) of the
    user row aliased `user` (it needs `id` and `is_private`): not blocked either way, and the
    account is public, is the viewer, or is followed by the viewer (an approved follow)."""
    return (
        f"({not_blocked_sql(f'{user}.id', viewer)}"
        f" AND (NOT {user}.is_private OR {user}.id = {viewer}"
        f" OR EXISTS (SELECT 1 FROM follows vf WHERE vf.follower_id = {viewer}"
        f" AND vf.followee_id = {user}.id)))"
    )


def visible_author_sql(author: str, viewer: str) -> str:
    """may_see_content for a user known only by its id expression `author` (e.g. a post's
    author_id, when the query has no join to users)."""
    return (
        f"EXISTS (SELECT 1 FROM users va WHERE va.id = {author}"
        f" AND {content_visible_sql('va', viewer)})"
    )


def not_held_sql(row: str) -> str:
    """Moderation does not hold back the post, comment or media row aliased `row`: it is
    neither HIDDEN_PENDING_REVIEW nor REMOVED, either of which hides it from everyone, its
    author included (docs/moderation.md)."""
    return f"{row}.moderation_state IS NULL"


def post_status_visible_sql(post: str, viewer: str) -> str:
    """The post row aliased `post` is published, or unpublished (not deleted) and the viewer's;
    and moderation does not hold it back (not_held_sql)."""
    return (
        f"(({post}.status = 'PUBLISHED'"
        f" OR ({post}.status <> 'DELETED' AND {post}.author_id = {viewer}))"
        f" AND {not_held_sql(post)})"
    )


def visible_post_sql(post: str, viewer: str, *, author: str | None = None) -> str:
    """may_see_post for the post row aliased `post`: its status allows it and the viewer may
    see its author's content. `author`: the alias of the author's users row when the query
    joins it (saves a probe), else the author is looked up by id."""
    content = (
        content_visible_sql(author, viewer)
        if author
        else visible_author_sql(f"{post}.author_id", viewer)
    )
    return f"({post_status_visible_sql(post, viewer)} AND {content})"


class Relation(NamedTuple):
    """How the viewer and one user stand: the facts the rule reads."""

    user_id: int
    is_private: bool
    viewer_has_blocked: bool
    blocks_viewer: bool
    viewer_follows: bool
    viewer_has_muted: bool
    viewer_requested: bool
    """The viewer has a pending follow request to the user."""
    hidden: bool = False
    """The account is hidden from everyone as by a block: deactivated (by its owner, or
    pending deletion) or suspended (hidden_account_sql)."""


async def fetch_relations(db: Db, viewer_id: int | None, user_ids: Sequence[int]) -> list[Relation]:
    """The relation of the viewer (None: anonymous) to each existing user among `user_ids`, in
    no particular order. One statement: primary-key probes per user."""
    rows = await db.fetch(
        f"""
        SELECT u.id, u.is_private,
               EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = $2 AND b.blocked_id = u.id)
                   AS viewer_has_blocked,
               EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = u.id AND b.blocked_id = $2)
                   AS blocks_viewer,
               EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = $2 AND f.followee_id = u.id)
                   AS viewer_follows,
               EXISTS (SELECT 1 FROM mutes m WHERE m.muter_id = $2 AND m.muted_id = u.id)
                   AS viewer_has_muted,
               EXISTS (SELECT 1 FROM follow_requests r
                        WHERE r.requester_id = $2 AND r.target_id = u.id) AS viewer_requested,
               {hidden_account_sql("u")} AS hidden
          FROM users u
         WHERE u.id = ANY($1::bigint[])
        """,
        user_ids,
        viewer_id,
    )
    return [Relation(*row) for row in rows]


async def fetch_blocked_either_way(db: Db, user_id: int, others: Sequence[int]) -> set[int]:
    """Those of `others` with a block between them and `user_id`, either way (one query)."""
    rows = await db.fetch(
        """
        SELECT blocked_id AS other FROM blocks
         WHERE blocker_id = $1 AND blocked_id = ANY($2::bigint[])
        UNION
        SELECT blocker_id FROM blocks WHERE blocked_id = $1 AND blocker_id = ANY($2::bigint[])
        """,
        user_id,
        others,
    )
    return {row["other"] for row in rows}


async def fetch_blocked_by_viewer_among(
    db: Db, viewer_id: int, usernames: Sequence[str]
) -> list[int]:
    """Ids of the accounts named in `usernames` that the viewer blocked (one query)."""
    rows = await db.fetch(
        """
        SELECT u.id FROM users u JOIN blocks b ON b.blocked_id = u.id AND b.blocker_id = $1
         WHERE u.username = ANY($2::text[])
        """,
        viewer_id,
        list(usernames),
    )
    return [row["id"] for row in rows]
