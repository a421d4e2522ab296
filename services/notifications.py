"""Notifications: LIKE, COMMENT, FOLLOW and MENTION events aggregated per recipient, kind and
post within a window ("alice and 4 others liked your post"), the list, the unread count, and
the live push.

The stored row is the truth. Callers record events inside the transaction that causes them
(one round trip each: the SQL functions do the aggregation), then `announce` them on Redis
pub/sub after the commit: best effort, a reconnecting client catches up with the query.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from redis.asyncio import Redis

from services.cursors import decode_time_id_cursor, encode_time_id_cursor
from services.hashtags import parse_mentions
from services.pagination import (
    Page,
    check_page_size,
    page_of,
)
from storage import redis_keys
from storage.pg import Db
from storage.pg import notifications as notification_store
from storage.pg import users as user_store
from storage.pg import visibility as visibility_store
from storage.pg.comments import CommentRecord
from storage.pg.likes import LikeChange
from storage.pg.notifications import NotificationRecord
from storage.pubsub import publish_all

AGGREGATION_WINDOW = timedelta(hours=24)

Delivery = tuple[int, int]
"""(recipient id, notification id): one push to make after the commit."""


def like_deliveries(change: LikeChange) -> list[Delivery]:
    """The push of a like or unlike: the author's LIKE group when it changed. The like and its
    notification are written together by storage.pg.likes (one statement), which never
    notifies people of their own likes."""
    if change.notification_id is None:
        return []
    return [(change.author_id, change.notification_id)]


async def record_follow(db: Db, *, followee_id: int, follower_id: int) -> list[Delivery]:
    return await _notify(db, followee_id, "FOLLOW", post_id=None, actor_id=follower_id)


async def retract_follow(db: Db, *, followee_id: int, follower_id: int) -> list[Delivery]:
    return await _retract(db, followee_id, "FOLLOW", post_id=None, actor_id=follower_id)


async def record_follow_request(db: Db, *, owner_id: int, requester_id: int) -> list[Delivery]:
    """FOLLOW_REQUEST to a private account's owner, the requester its actor."""
    return await _notify(db, owner_id, "FOLLOW_REQUEST", post_id=None, actor_id=requester_id)


async def retract_follow_request(db: Db, *, owner_id: int, requester_id: int) -> list[Delivery]:
    """The request was approved, declined or cancelled: out of the owner's FOLLOW_REQUEST."""
    return await _retract(db, owner_id, "FOLLOW_REQUEST", post_id=None, actor_id=requester_id)


async def record_follow_accepted(db: Db, *, requester_id: int, owner_id: int) -> list[Delivery]:
    """FOLLOW_ACCEPTED to the requester whose request the owner approved."""
    return await _notify(db, requester_id, "FOLLOW_ACCEPTED", post_id=None, actor_id=owner_id)


async def record_data_export_ready(db: Db, *, user_id: int, export_id: int) -> list[Delivery]:
    """DATA_EXPORT_READY to the account whose export is ready (its own actor; one event per
    export, so a later export is news again)."""
    return await _notify(
        db, user_id, "DATA_EXPORT_READY", post_id=None, actor_id=user_id, source_id=export_id
    )


async def record_comment(db: Db, *, post_author_id: int, comment: CommentRecord) -> list[Delivery]:
    """COMMENT to the post's author, MENTION to everyone @mentioned (never to the commenter)."""
    deliveries = []
    for recipient, kind in await _comment_targets(db, post_author_id, comment):
        deliveries += await _notify(
            db,
            recipient,
            kind,
            post_id=comment.post_id,
            comment_id=comment.id,
            actor_id=comment.author_id,
            source_id=comment.id,
        )
    return deliveries


async def retract_comment(db: Db, *, post_author_id: int, comment: CommentRecord) -> list[Delivery]:
    """Undo what record_comment did for this comment."""
    deliveries = []
    for recipient, kind in await _comment_targets(db, post_author_id, comment):
        deliveries += await _retract(
            db,
            recipient,
            kind,
            post_id=comment.post_id,
            actor_id=comment.author_id,
            source_id=comment.id,
        )
    return deliveries


async def record_caption_mentions(
    db: Db, *, post_id: int, author_id: int, caption: str | None
) -> list[Delivery]:
    """MENTION to everyone @mentioned in a caption, when the post is published."""
    deliveries = []
    for recipient in await _mentioned(db, caption, exclude=author_id):
        deliveries += await _notify(db, recipient, "MENTION", post_id=post_id, actor_id=author_id)
    return deliveries


async def _notify(
    db: Db,
    recipient_id: int,
    kind: str,
    *,
    post_id: int | None,
    actor_id: int,
    comment_id: int | None = None,
    source_id: int = 0,
) -> list[Delivery]:
    """Add one event to the recipient's aggregated notification; its push if it changed.
    Nothing across a block: no notification is created between accounts with a block either
    way between them."""
    if await visibility_store.fetch_blocked_either_way(db, recipient_id, [actor_id]):
        return []
    changed = await notification_store.notify(
        db,
        recipient_id=recipient_id,
        kind=kind,
        post_id=post_id,
        comment_id=comment_id,
        actor_id=actor_id,
        source_id=source_id,
        window=AGGREGATION_WINDOW,
    )
    return [(recipient_id, changed)] if changed else []


async def _retract(
    db: Db,
    recipient_id: int,
    kind: str,
    *,
    post_id: int | None,
    actor_id: int,
    source_id: int = 0,
) -> list[Delivery]:
    """Take one event back out of the recipient's notification; its push if it changed."""
    changed = await notification_store.retract(
        db,
        recipient_id=recipient_id,
        kind=kind,
        post_id=post_id,
        actor_id=actor_id,
        source_id=source_id,
    )
    return [(recipient_id, changed)] if changed else []


async def retract_between(db: Db, a: int, b: int) -> list[Delivery]:
    """At a block between a and b: every event of each in the other's notifications goes,
    exactly (counts and faces of the groups recomputed, emptied groups deleted: one
    statement). Unblocking does not bring them back. Returns the pushes of the changed groups
    (a deleted group's push is skipped by its subscriber: it reads nothing)."""
    return await notification_store.retract_between(db, a, b)


async def _comment_targets(
    db: Db, post_author_id: int, comment: CommentRecord
) -> list[tuple[int, str]]:
    """Who a comment notifies, and how: its post's author (unless they wrote it), the mentioned."""
    targets = [(post_author_id, "COMMENT")] if post_author_id != comment.author_id else []
    mentioned = await _mentioned(db, comment.text, exclude=comment.author_id)
    return targets + [(recipient, "MENTION") for recipient in mentioned]


async def _mentioned(db: Db, text: str | None, *, exclude: int) -> list[int]:
    """The ids of the accounts @mentioned in `text`, but `exclude` (the author) and anyone with
    a block between them and the author (a mention across a block is plain text)."""
    names = parse_mentions(text)
    if not names:
        return []
    found = await user_store.fetch_user_ids_by_usernames(db, names)
    ids = [found[name] for name in names if name in found and found[name] != exclude]
    if not ids:
        return []
    blocked = await visibility_store.fetch_blocked_either_way(db, exclude, ids)
    return [user_id for user_id in ids if user_id not in blocked]


async def announce(
    redis: Redis, deliveries: Iterable[Delivery], *, counts_changed_on: int | None = None
) -> None:
    """After the commit: push each changed notification to its recipient's channel and, when
    `counts_changed_on` names a post, tell its open views that its counts changed. One round
    trip; best effort (see storage.pubsub.publish): the rows are the truth."""
    messages = [
        (
            redis_keys.user_events_channel(recipient_id),
            {"type": "notification", "notification_id": notification_id},
        )
        for recipient_id, notification_id in deliveries
    ]
    if counts_changed_on is not None:
        messages.append((redis_keys.post_events_channel(counts_changed_on), {"type": "counts"}))
    await publish_all(redis, messages)


async def list_notifications(
    db: Db, recipient_id: int, *, first: int, after: str | None
) -> Page[NotificationRecord]:
    """The recipient's notifications, newest first, one keyset page."""
    limit = check_page_size(first)
    rows = await notification_store.fetch_notifications_page(
        db, recipient_id, limit=limit + 1, after=decode_time_id_cursor(after)
    )
    return page_of([(encode_time_id_cursor(n.created_at, n.id), n) for n in rows], limit)


async def fetch_notification(
    db: Db, recipient_id: int, notification_id: int
) -> NotificationRecord | None:
    """The recipient's own notification, or None."""
    found = await notification_store.fetch_notifications_by_ids(db, [notification_id])
    if not found or found[0].recipient_id != recipient_id or found[0].actor_count == 0:
        return None
    return found[0]


async def unread_count(db: Db, recipient_id: int) -> int:
    return await notification_store.count_unread(db, recipient_id)


async def mark_read(db: Db, recipient_id: int, *, up_to: int | None) -> int:
    """Mark read up to and including `up_to` (all when None); returns the new unread count."""
    await notification_store.mark_read(db, recipient_id, up_to=up_to)
    return await notification_store.count_unread(db, recipient_id)
