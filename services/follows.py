"""The follow graph: follow, unfollow, and the follower / following lists."""

from __future__ import annotations

from services import feed, notifications
from services.auth import Viewer
from services.cursors import decode_time_id_cursor, encode_time_id_cursor
from services.errors import DomainError, UserErrorCode
from services.pagination import (
    Page,
    check_page_size,
    page_of,
)
from services.social import SocialDeps
from storage.pg import Db, transaction
from storage.pg import follows as follow_store
from storage.pg import users as user_store
from storage.pg.users import UserRecord


async def follow_user(
    deps: SocialDeps, viewer: Viewer, target_id: int
) -> tuple[UserRecord, UserRecord]:
    """Make the viewer follow the target; following again changes nothing and succeeds.

    Returns (viewer, target) with their counters after the change. Raises DomainError:
    INVALID_INPUT for yourself, NOT_FOUND for a missing user, RATE_LIMITED. Side effects: one
    follows row, both counters and the FOLLOW notification in one transaction; then its push,
    the followee's recent posts into the viewer's cached feed, the viewer's follow allowance.
    """
    await deps.ensure_allowed("follow", viewer.user_id)
    me, them, changed = await _change_follow(deps, viewer, target_id, follow=True)
    if changed:
        await deps.count("follow", viewer.user_id)
        await feed.backfill_followee(deps.feed, viewer.user_id, target_id)
    return me, them


async def unfollow_user(
    deps: SocialDeps, viewer: Viewer, target_id: int
) -> tuple[UserRecord, UserRecord]:
    """Make the viewer stop following the target; unfollowing again changes nothing.

    Same returns and errors as follow_user (no allowance); the followee's posts leave the
    viewer's cached feed.
    """
    me, them, changed = await _change_follow(deps, viewer, target_id, follow=False)
    if changed:
        await feed.remove_followee(
            deps.feed, viewer.user_id, target_id, followee_follower_count=them.follower_count
        )
    return me, them


async def _change_follow(
    deps: SocialDeps, viewer: Viewer, target_id: int, *, follow: bool
) -> tuple[UserRecord, UserRecord, bool]:
    if target_id == viewer.user_id:
        raise DomainError.single(
            UserErrorCode.INVALID_INPUT, "You cannot follow yourself.", "userId"
        )
    async with transaction(deps.db) as conn:
        existing = await follow_store.lock_pair(conn, viewer.user_id, target_id)
        if target_id not in existing:
            raise DomainError.single(UserErrorCode.NOT_FOUND, "No such user.", "userId")
        if viewer.user_id not in existing:
            raise DomainError.single(UserErrorCode.NOT_FOUND, "This account no longer exists.")
        if follow:
            changed = await follow_store.insert_follow(conn, viewer.user_id, target_id)
        else:
            changed = await follow_store.delete_follow(conn, viewer.user_id, target_id)
        deliveries: list[notifications.Delivery] = []
        if changed:
            await follow_store.adjust_follow_counts(
                conn, viewer.user_id, target_id, 1 if follow else -1
            )
            record = notifications.record_follow if follow else notifications.retract_follow
            deliveries = await record(conn, followee_id=target_id, follower_id=viewer.user_id)
        users = {
            user.id: user
            for user in await user_store.fetch_users_by_ids(conn, [viewer.user_id, target_id])
        }
    await notifications.announce(deps.redis, deliveries)
    return users[viewer.user_id], users[target_id], changed


async def list_followers(
    db: Db, user_id: int, *, first: int, after: str | None
) -> Page[UserRecord]:
    """The user's followers, most recent first, one keyset page (a single query)."""
    limit = check_page_size(first)
    rows = await follow_store.fetch_followers_page(
        db, user_id, limit=limit + 1, after=decode_time_id_cursor(after)
    )
    return page_of([(encode_time_id_cursor(*key), user) for key, user in rows], limit)


async def list_following(
    db: Db, user_id: int, *, first: int, after: str | None
) -> Page[UserRecord]:
    """The accounts the user follows, most recent first, one keyset page (a single query)."""
    limit = check_page_size(first)
    rows = await follow_store.fetch_following_page(
        db, user_id, limit=limit + 1, after=decode_time_id_cursor(after)
    )
    return page_of([(encode_time_id_cursor(*key), user) for key, user in rows], limit)
