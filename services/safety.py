"""Blocks and mutes: what a user does to shut an account out or silence it (docs/privacy.md).

A block hides the two accounts from each other everywhere (services.visibility) and ends the
follows and pending follow requests between them; a mute keeps the follow but hides the muted
account's posts from the muter's feed and its notifications. The muted account is told
nothing; neither is the blocked one (to them the blocker simply does not exist).
"""

from __future__ import annotations

from services import feed, notifications, visibility
from services.auth import Viewer
from services.cursors import decode_time_id_cursor, encode_time_id_cursor
from services.errors import DomainError, UserErrorCode
from services.pagination import Page, check_page_size, page_of
from services.social import SocialDeps
from storage.pg import Db, transaction
from storage.pg import blocks as block_store
from storage.pg import follows as follow_store
from storage.pg import users as user_store
from storage.pg.blocks import Table
from storage.pg.users import UserRecord
from storage.pg.visibility import Relation


async def block_user(
    deps: SocialDeps, viewer: Viewer, target_id: int
) -> tuple[UserRecord, UserRecord]:
    """The viewer blocks the target; blocking again changes nothing and succeeds.

    Returns (viewer, target) after the change. Raises DomainError INVALID_INPUT (yourself),
    NOT_FOUND (no such user, or one who blocked the viewer); nothing changed then. Side effects
    in one transaction: the block, the follows both ways with exact counters, the pending
    follow requests both ways; then each side's posts leave the other's cached feed (a
    `clean_feeds_after_block` job; reads filter them meanwhile) and a followee who dropped
    below the celebrity threshold is fanned out. Each side's events leave the other's
    notifications in the same transaction (services.notifications.retract_between: exact
    actor counts and faces, emptied groups gone; their pushes after the commit); no new ones
    are created while the block stands.
    """
    _refuse_self(viewer, target_id, "You cannot block yourself.")
    lost: list[tuple[int, int]] = []
    deliveries: list[notifications.Delivery] = []
    async with transaction(deps.db) as conn:
        await _lock_pair(conn, viewer, target_id)
        changed = await block_store.insert(conn, "blocks", viewer.user_id, target_id)
        if changed:
            for follower, followee in ((viewer.user_id, target_id), (target_id, viewer.user_id)):
                if await follow_store.delete_follow(conn, follower, followee):
                    await follow_store.adjust_follow_counts(conn, follower, followee, -1)
                    lost.append((followee, follower))
            await block_store.delete_requests_between(conn, viewer.user_id, target_id)
            deliveries = await notifications.retract_between(conn, viewer.user_id, target_id)
        me, them = await _both(conn, viewer.user_id, target_id)
    if changed:
        await notifications.announce(deps.redis, deliveries)
        counts = {me.id: me.follower_count, them.id: them.follower_count}
        for followee, _ in lost:
            await feed.follower_lost(deps.feed, followee, followee_follower_count=counts[followee])
        await feed.clean_feeds_after_block(deps.feed, viewer.user_id, target_id)
    return me, them


async def unblock_user(
    deps: SocialDeps, viewer: Viewer, target_id: int
) -> tuple[UserRecord, UserRecord]:
    """The viewer lifts their block of the target; a no-op (no error) when there is none.

    The follows the block ended are not restored. Raises DomainError INVALID_INPUT (yourself),
    NOT_FOUND (no such user, or one who blocked the viewer while the viewer has no block of
    them). Side effects: the block row.
    """
    _refuse_self(viewer, target_id, "You cannot block yourself.")
    async with transaction(deps.db) as conn:
        await _lock_pair(conn, viewer, target_id)
        await block_store.delete(conn, "blocks", viewer.user_id, target_id)
        me, them = await _both(conn, viewer.user_id, target_id)
    return me, them


async def mute_user(
    deps: SocialDeps, viewer: Viewer, target_id: int
) -> tuple[UserRecord, UserRecord]:
    """The viewer mutes the target (the target is told nothing); again: no change, no error.

    Raises DomainError INVALID_INPUT (yourself), NOT_FOUND (no such user, or one who blocked
    the viewer). Side effects: the mute row; the target's recent posts leave the viewer's
    cached feed (reads filter older ones and rebuilt feeds leave them out).
    """
    _refuse_self(viewer, target_id, "You cannot mute yourself.")
    async with transaction(deps.db) as conn:
        await _lock_pair(conn, viewer, target_id)
        changed = await block_store.insert(conn, "mutes", viewer.user_id, target_id)
        me, them = await _both(conn, viewer.user_id, target_id)
    if changed:
        await feed.remove_author_posts(deps.feed, viewer.user_id, target_id)
    return me, them


async def unmute_user(
    deps: SocialDeps, viewer: Viewer, target_id: int
) -> tuple[UserRecord, UserRecord]:
    """The viewer unmutes the target; a no-op (no error) when not muted.

    Raises DomainError as mute_user. Side effects: the mute row; when the viewer follows the
    target, the target's recent posts return to the viewer's cached feed.
    """
    _refuse_self(viewer, target_id, "You cannot mute yourself.")
    async with transaction(deps.db) as conn:
        relation = await _lock_pair(conn, viewer, target_id)
        changed = await block_store.delete(conn, "mutes", viewer.user_id, target_id)
        me, them = await _both(conn, viewer.user_id, target_id)
    if changed and relation.viewer_follows:
        await feed.backfill_followee(deps.feed, viewer.user_id, target_id)
    return me, them


async def list_blocked(db: Db, owner_id: int, *, first: int, after: str | None) -> Page[UserRecord]:
    """The accounts the owner blocked, most recent first, one keyset page."""
    return await _list(db, "blocks", owner_id, first=first, after=after)


async def list_muted(db: Db, owner_id: int, *, first: int, after: str | None) -> Page[UserRecord]:
    """The accounts the owner muted, most recent first, one keyset page."""
    return await _list(db, "mutes", owner_id, first=first, after=after)


async def count_listed(db: Db, table: Table, owner_id: int) -> int:
    """How many accounts the owner blocked (`blocks`) or muted (`mutes`)."""
    return await block_store.count(db, table, owner_id)


async def _list(
    db: Db, table: Table, owner_id: int, *, first: int, after: str | None
) -> Page[UserRecord]:
    limit = check_page_size(first)
    rows = await block_store.fetch_page(
        db, table, owner_id, limit=limit + 1, after=decode_time_id_cursor(after)
    )
    return page_of([(encode_time_id_cursor(*key), user) for key, user in rows], limit)


def _refuse_self(viewer: Viewer, other_id: int, message: str) -> None:
    if other_id == viewer.user_id:
        raise DomainError.single(UserErrorCode.INVALID_INPUT, message, "userId")


async def _lock_pair(conn: Db, viewer: Viewer, other_id: int) -> Relation:
    """Lock both users' rows in id order (storage.pg.follows.lock_pair) and read the viewer's
    relation to the other. Raises DomainError NOT_FOUND for a missing user, or one who blocked
    the viewer (unless the viewer blocked them too: then the viewer knows them)."""
    existing = await follow_store.lock_pair(conn, viewer.user_id, other_id)
    if viewer.user_id not in existing:
        raise DomainError.single(UserErrorCode.NOT_FOUND, "This account no longer exists.")
    if other_id in existing:
        relation = (await visibility.fetch_relations(conn, viewer.user_id, [other_id]))[other_id]
        if not relation.blocks_viewer or relation.viewer_has_blocked:
            return relation
    raise DomainError.single(UserErrorCode.NOT_FOUND, "No such user.", "userId")


async def _both(conn: Db, viewer_id: int, other_id: int) -> tuple[UserRecord, UserRecord]:
    found = await user_store.fetch_users_by_ids(conn, [viewer_id, other_id])
    users = {user.id: user for user in found}
    return users[viewer_id], users[other_id]
