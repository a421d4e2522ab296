"""The follow graph: follow, unfollow, and the follower / following lists."""

from __future__ import annotations

from services.auth import Viewer
from services.errors import DomainError, UserErrorCode
from services.pagination import (
    Page,
    check_page_size,
    decode_time_id_cursor,
    encode_time_id_cursor,
)
from storage.pg import Db, transaction
from storage.pg import follows as follow_store
from storage.pg import users as user_store
from storage.pg.users import UserRecord


async def follow_user(db: Db, viewer: Viewer, target_id: int) -> tuple[UserRecord, UserRecord]:
    """Make the viewer follow the target; following again changes nothing and succeeds.

    Returns (viewer, target) with their counters after the change. Raises DomainError:
    INVALID_INPUT for yourself, NOT_FOUND for a missing user. Side effects: one follows row and
    both counters, in one transaction.
    """
    return await _change_follow(db, viewer, target_id, follow=True)


async def unfollow_user(db: Db, viewer: Viewer, target_id: int) -> tuple[UserRecord, UserRecord]:
    """Make the viewer stop following the target; unfollowing again changes nothing.

    Same returns, errors and side effects as follow_user.
    """
    return await _change_follow(db, viewer, target_id, follow=False)


async def _change_follow(
    db: Db, viewer: Viewer, target_id: int, *, follow: bool
) -> tuple[UserRecord, UserRecord]:
    if target_id == viewer.user_id:
        raise DomainError.single(
            UserErrorCode.INVALID_INPUT, "You cannot follow yourself.", "userId"
        )
    async with transaction(db) as conn:
        if follow:
            changed = await follow_store.insert_follow(conn, viewer.user_id, target_id)
        else:
            changed = await follow_store.delete_follow(conn, viewer.user_id, target_id)
        if changed:
            await follow_store.adjust_follow_counts(
                conn, viewer.user_id, target_id, 1 if follow else -1
            )
        users = {
            user.id: user
            for user in await user_store.fetch_users_by_ids(conn, [viewer.user_id, target_id])
        }
    if target_id not in users:
        # Nothing was written: insert_follow skips a followee that does not exist.
        raise DomainError.single(UserErrorCode.NOT_FOUND, "No such user.", "userId")
    if viewer.user_id not in users:
        raise DomainError.single(UserErrorCode.NOT_FOUND, "This account no longer exists.")
    return users[viewer.user_id], users[target_id]


async def list_followers(
    db: Db, user_id: int, *, first: int, after: str | None
) -> Page[UserRecord]:
    """The user's followers, most recent first, one keyset page (a single query)."""
    limit = check_page_size(first)
    rows = await follow_store.fetch_followers_page(
        db, user_id, limit=limit + 1, after=decode_time_id_cursor(after)
    )
    return _page(rows, limit)


async def list_following(
    db: Db, user_id: int, *, first: int, after: str | None
) -> Page[UserRecord]:
    """The accounts the user follows, most recent first, one keyset page (a single query)."""
    limit = check_page_size(first)
    rows = await follow_store.fetch_following_page(
        db, user_id, limit=limit + 1, after=decode_time_id_cursor(after)
    )
    return _page(rows, limit)


def _page(rows: list[tuple[follow_store.FollowCursor, UserRecord]], limit: int) -> Page[UserRecord]:
    return Page(
        edges=[(encode_time_id_cursor(*key), user) for key, user in rows[:limit]],
        has_next_page=len(rows) > limit,
    )
