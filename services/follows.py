"""The follow graph: follow, unfollow, follow requests to private accounts (approve, decline,
cancel), and the follower / following lists."""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass

from services import feed, notifications, visibility
from services.auth import Viewer
from services.cursors import decode_time_id_cursor, encode_time_id_cursor
from services.errors import DomainError, UserErrorCode
from services.pagination import (
    Page,
    check_page_size,
    page_of,
)
from services.social import SocialDeps
from storage import jobs
from storage.pg import Db, transaction
from storage.pg import follow_requests as request_store
from storage.pg import follows as follow_store
from storage.pg import users as user_store
from storage.pg.users import UserRecord
from storage.pg.visibility import Relation


class FollowStatus(enum.Enum):
    """Where the viewer stands with an account after followUser."""

    NOT_FOLLOWING = "NOT_FOLLOWING"
    REQUESTED = "REQUESTED"
    """A request to a private account waits for its owner's approval."""
    FOLLOWING = "FOLLOWING"


@dataclass(frozen=True, slots=True)
class FollowOutcome:
    viewer: UserRecord
    target: UserRecord
    status: FollowStatus


APPROVE_ALL_BATCH = 100
"""Pending requests approved per transaction (and per job) when an account turns public."""
APPROVE_NOW = 20
"""Of those, approved within the request that turns the account public; the rest in jobs."""


def refuse_across_block(relation: Relation, field: str = "userId") -> None:
    """Raise DomainError when a block stands between the viewer and the account they act on:
    NOT_FOUND when the account blocked the viewer (exactly as for a missing account: a block
    is never revealed; also when the account is hidden from everyone: deactivated or
    suspended), BLOCKED when the viewer blocked it."""
    if relation.blocks_viewer or relation.hidden:
        raise DomainError.single(UserErrorCode.NOT_FOUND, "No such user.", field)
    if relation.viewer_has_blocked:
        raise DomainError.single(
            UserErrorCode.BLOCKED, "You blocked this account; unblock it first.", field
        )


async def follow_user(deps: SocialDeps, viewer: Viewer, target_id: int) -> FollowOutcome:
    """Make the viewer follow the target, or ask to when the target is private; repeating
    changes nothing and succeeds.

    Returns both users with their counters after the change and the viewer's status:
    FOLLOWING, or REQUESTED (a pending follow_requests row) for a private account. Raises
    DomainError: INVALID_INPUT for yourself, NOT_FOUND for a missing user or one who blocked
    the viewer, BLOCKED for one the viewer blocked, RATE_LIMITED; nothing changed then. Side
    effects: a follows row, both counters and the FOLLOW notification in one transaction, then
    its push and the followee's recent posts into the viewer's cached feed; or the request and
    the FOLLOW_REQUEST notification to the owner; the viewer's follow allowance.
    """
    await deps.ensure_allowed("follow", viewer.user_id)
    _refuse_self(viewer, target_id, "You cannot follow yourself.")
    deliveries: list[notifications.Delivery] = []
    async with transaction(deps.db) as conn:
        relation = await _lock_pair(conn, viewer, target_id)
        refuse_across_block(relation)
        if relation.viewer_follows:
            status, changed, followed = FollowStatus.FOLLOWING, False, False
        elif relation.is_private:
            status, followed = FollowStatus.REQUESTED, False
            changed = await request_store.insert_request(conn, viewer.user_id, target_id)
            if changed:
                deliveries = await notifications.record_follow_request(
                    conn, owner_id=target_id, requester_id=viewer.user_id
                )
        else:
            status = FollowStatus.FOLLOWING
            changed = followed = await follow_store.insert_follow(conn, viewer.user_id, target_id)
            if changed:
                await follow_store.adjust_follow_counts(conn, viewer.user_id, target_id, 1)
                deliveries = await notifications.record_follow(
                    conn, followee_id=target_id, follower_id=viewer.user_id
                )
        me, them = await _both(conn, viewer.user_id, target_id)
    await notifications.announce(deps.redis, deliveries)
    if changed:
        await deps.count("follow", viewer.user_id)
    if followed:
        await feed.backfill_followee(deps.feed, viewer.user_id, target_id)
    return FollowOutcome(me, them, status)


async def unfollow_user(
    deps: SocialDeps, viewer: Viewer, target_id: int
) -> tuple[UserRecord, UserRecord]:
    """Make the viewer stop following the target; unfollowing again changes nothing.

    Returns both users after the change. Raises DomainError as follow_user (no allowance).
    Side effects: the follows row, both counters, the FOLLOW notification retracted; the
    followee's posts leave the viewer's cached feed.
    """
    _refuse_self(viewer, target_id, "You cannot follow yourself.")
    deliveries: list[notifications.Delivery] = []
    async with transaction(deps.db) as conn:
        relation = await _lock_pair(conn, viewer, target_id)
        refuse_across_block(relation)
        changed = await follow_store.delete_follow(conn, viewer.user_id, target_id)
        if changed:
            await follow_store.adjust_follow_counts(conn, viewer.user_id, target_id, -1)
            deliveries = await notifications.retract_follow(
                conn, followee_id=target_id, follower_id=viewer.user_id
            )
        me, them = await _both(conn, viewer.user_id, target_id)
    await notifications.announce(deps.redis, deliveries)
    if changed:
        await feed.remove_followee(
            deps.feed, viewer.user_id, target_id, followee_follower_count=them.follower_count
        )
    return me, them


async def approve_follow_request(
    deps: SocialDeps, viewer: Viewer, requester_id: int
) -> tuple[UserRecord, UserRecord]:
    """The viewer (a private account) accepts the requester as a follower.

    Returns (viewer, requester) after the change. Raises DomainError INVALID_INPUT (yourself),
    NOT_FOUND (no such user, one who blocked the viewer, or no pending request from them),
    BLOCKED (an account the viewer blocked); nothing changed then. Side effects in one
    transaction: the request becomes a follows row, both counters, the owner's FOLLOW_REQUEST
    notification becomes a FOLLOW one, FOLLOW_ACCEPTED to the requester; then their pushes and
    the owner's recent posts into the requester's cached feed.
    """
    _refuse_self(viewer, requester_id, "You cannot follow yourself.")
    async with transaction(deps.db) as conn:
        relation = await _lock_pair(conn, viewer, requester_id)
        refuse_across_block(relation)
        if not await request_store.delete_request(conn, requester_id, viewer.user_id):
            raise _no_request()
        deliveries = await _accept(conn, viewer.user_id, requester_id)
        me, them = await _both(conn, viewer.user_id, requester_id)
    await notifications.announce(deps.redis, deliveries)
    await feed.backfill_followee(deps.feed, requester_id, viewer.user_id)
    return me, them


async def approve_after_going_public(deps: SocialDeps, owner_id: int) -> int:
    """After `owner_id` turned public: approve the APPROVE_NOW oldest pending requests at
    once (one transaction, as approve_requests_batch), and leave the rest to a chain of
    `approve_follow_requests` jobs, APPROVE_ALL_BATCH per job and transaction (run inline
    instead when the feed runs its jobs inline). Returns how many were approved here. Side
    effects: those of approve_requests_batch; maybe an enqueued job."""
    approved, more = await approve_requests_batch(deps, owner_id, limit=APPROVE_NOW)
    if more:
        if deps.feed.run_jobs_inline:
            approved += await approve_all_requests(deps, owner_id)
        else:
            round_id = time.time_ns() // 1000
            await jobs.enqueue_approve_follow_requests(deps.redis, owner_id, round_id, 1)
    return approved


async def approve_requests_step(deps: SocialDeps, owner_id: int, round_id: int, step: int) -> int:
    """One `approve_follow_requests` job: one batch (approve_requests_batch), then the job of
    the next step when requests may remain. Running a step again is harmless: it takes
    whatever is still pending (nothing, once all are approved). Returns how many were
    approved."""
    approved, more = await approve_requests_batch(deps, owner_id, limit=APPROVE_ALL_BATCH)
    if more:
        await jobs.enqueue_approve_follow_requests(deps.redis, owner_id, round_id, step + 1)
    return approved


async def approve_all_requests(deps: SocialDeps, owner_id: int) -> int:
    """Approve every pending request to `owner_id` now, APPROVE_ALL_BATCH per transaction
    (approve_requests_batch); requests arriving meanwhile are taken too. Returns how many were
    approved."""
    approved = 0
    while True:
        count, more = await approve_requests_batch(deps, owner_id, limit=APPROVE_ALL_BATCH)
        approved += count
        if not more:
            return approved


async def approve_requests_batch(
    deps: SocialDeps, owner_id: int, *, limit: int
) -> tuple[int, bool]:
    """Approve up to `limit` of the oldest pending requests to `owner_id` in one transaction,
    each as approve_follow_request (side effects included: follows, counters, notifications,
    then pushes and feed backfills), unless the owner is private (again): then nothing.
    Returns (how many were approved, whether more may be pending)."""
    async with transaction(deps.db) as conn:
        batch = await request_store.fetch_oldest_requesters(conn, owner_id, limit=limit)
        if not batch:
            return 0, False
        await user_store.lock_users(conn, [owner_id, *batch])
        owner = await user_store.fetch_users_by_ids(conn, [owner_id])
        if not owner or owner[0].is_private:
            return 0, False
        deliveries: list[notifications.Delivery] = []
        accepted = []
        for requester_id in batch:
            if await request_store.delete_request(conn, requester_id, owner_id):
                deliveries += await _accept(conn, owner_id, requester_id)
                accepted.append(requester_id)
    await notifications.announce(deps.redis, deliveries)
    for requester_id in accepted:
        await feed.backfill_followee(deps.feed, requester_id, owner_id)
    return len(accepted), len(batch) == limit


async def decline_follow_request(
    deps: SocialDeps, viewer: Viewer, requester_id: int
) -> tuple[UserRecord, UserRecord]:
    """The viewer turns the requester's pending request down (the requester is not told).

    Returns (viewer, requester). Raises DomainError as approve_follow_request. Side effects:
    the request and its FOLLOW_REQUEST notification are removed.
    """
    return await _drop_request(deps, viewer, requester_id=requester_id, target_id=viewer.user_id)


async def cancel_follow_request(
    deps: SocialDeps, viewer: Viewer, target_id: int
) -> tuple[UserRecord, UserRecord]:
    """The viewer withdraws their pending request to the target.

    Returns (viewer, target). Raises DomainError as approve_follow_request. Side effects: the
    request and the target's FOLLOW_REQUEST notification are removed.
    """
    return await _drop_request(deps, viewer, requester_id=viewer.user_id, target_id=target_id)


async def _drop_request(
    deps: SocialDeps, viewer: Viewer, *, requester_id: int, target_id: int
) -> tuple[UserRecord, UserRecord]:
    other_id = target_id if requester_id == viewer.user_id else requester_id
    _refuse_self(viewer, other_id, "You cannot follow yourself.")
    async with transaction(deps.db) as conn:
        relation = await _lock_pair(conn, viewer, other_id)
        refuse_across_block(relation)
        if not await request_store.delete_request(conn, requester_id, target_id):
            raise _no_request()
        deliveries = await notifications.retract_follow_request(
            conn, owner_id=target_id, requester_id=requester_id
        )
        me, them = await _both(conn, viewer.user_id, other_id)
    await notifications.announce(deps.redis, deliveries)
    return me, them


async def _accept(conn: Db, owner_id: int, requester_id: int) -> list[notifications.Delivery]:
    """Turn a removed request into a follow (the caller holds both users' rows)."""
    deliveries = await notifications.retract_follow_request(
        conn, owner_id=owner_id, requester_id=requester_id
    )
    if await follow_store.insert_follow(conn, requester_id, owner_id):
        await follow_store.adjust_follow_counts(conn, requester_id, owner_id, 1)
        deliveries += await notifications.record_follow(
            conn, followee_id=owner_id, follower_id=requester_id
        )
        deliveries += await notifications.record_follow_accepted(
            conn, requester_id=requester_id, owner_id=owner_id
        )
    return deliveries


def _refuse_self(viewer: Viewer, other_id: int, message: str) -> None:
    if other_id == viewer.user_id:
        raise DomainError.single(UserErrorCode.INVALID_INPUT, message, "userId")


def _no_request() -> DomainError:
    return DomainError.single(UserErrorCode.NOT_FOUND, "No such follow request.", "userId")


async def _lock_pair(conn: Db, viewer: Viewer, other_id: int) -> Relation:
    """Lock both users' rows (storage.pg.follows.lock_pair) and read how the viewer stands
    with the other. Raises DomainError NOT_FOUND when either is missing."""
    existing = await follow_store.lock_pair(conn, viewer.user_id, other_id)
    if other_id not in existing:
        raise DomainError.single(UserErrorCode.NOT_FOUND, "No such user.", "userId")
    if viewer.user_id not in existing:
        raise DomainError.single(UserErrorCode.NOT_FOUND, "This account no longer exists.")
    relations = await visibility.fetch_relations(conn, viewer.user_id, [other_id])
    return relations[other_id]


async def _both(conn: Db, viewer_id: int, other_id: int) -> tuple[UserRecord, UserRecord]:
    users = {
        user.id: user for user in await user_store.fetch_users_by_ids(conn, [viewer_id, other_id])
    }
    return users[viewer_id], users[other_id]


async def list_followers(
    db: Db, viewer_id: int | None, user_id: int, *, first: int, after: str | None
) -> Page[UserRecord]:
    """The user's followers the viewer may see, most recent first, one keyset page (a single
    query applying the visibility rule: empty when the viewer may not see the user's content;
    followers with a block between them and the viewer left out)."""
    limit = check_page_size(first)
    rows = await follow_store.fetch_followers_page(
        db, user_id, viewer_id, limit=limit + 1, after=decode_time_id_cursor(after)
    )
    return page_of([(encode_time_id_cursor(*key), user) for key, user in rows], limit)


async def list_following(
    db: Db, viewer_id: int | None, user_id: int, *, first: int, after: str | None
) -> Page[UserRecord]:
    """The accounts the user follows that the viewer may see, most recent first (as
    list_followers)."""
    limit = check_page_size(first)
    rows = await follow_store.fetch_following_page(
        db, user_id, viewer_id, limit=limit + 1, after=decode_time_id_cursor(after)
    )
    return page_of([(encode_time_id_cursor(*key), user) for key, user in rows], limit)


async def list_requests(
    db: Db, owner_id: int, *, first: int, after: str | None
) -> Page[UserRecord]:
    """The pending follow requests to the owner, newest first, one keyset page."""
    limit = check_page_size(first)
    rows = await request_store.fetch_requests_page(
        db, owner_id, limit=limit + 1, after=decode_time_id_cursor(after)
    )
    return page_of([(encode_time_id_cursor(*key), user) for key, user in rows], limit)


async def count_requests(db: Db, owner_id: int) -> int:
    """How many follow requests to the owner are pending."""
    return await request_store.count_requests(db, owner_id)
