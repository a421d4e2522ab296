"""Queries on `notifications`: aggregated events, written and retracted by the SQL functions
`notify_event` / `retract_event` (migrations/0005_notifications.sql)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg

from storage.pg import Db
from storage.pg.visibility import not_blocked_sql, not_muted_sql

NOTIFICATION_COLUMNS = (
    "id, recipient_id, kind, post_id, comment_id, actor_id, actor_count, created_at, read_at,"
    " moderation_action_id"
)

NotificationCursor = tuple[datetime, int]

_SHOWN = (
    f"({not_blocked_sql('actor_id', 'recipient_id')}"
    f" AND {not_muted_sql('actor_id', 'recipient_id')})"
)
"""A notification is shown to its recipient unless the recipient muted its actor (the group's
latest: docs/privacy.md, the face of the group decides for mutes) or a block stands between
them. A block takes each side's events out of the other's groups when it is made
(retract_between: exact); the block test here only covers an event racing the block."""


@dataclass(frozen=True, slots=True)
class NotificationRecord:
    id: int
    recipient_id: int
    kind: str
    post_id: int | None
    comment_id: int | None
    actor_id: int
    actor_count: int
    created_at: datetime
    read_at: datetime | None
    moderation_action_id: int | None = None
    """The audit-log entry a moderation notice is about (CONTENT_REMOVED, MODERATION_WARNING,
    APPEAL_DECIDED); None for the other kinds."""


def notification_from_row(row: asyncpg.Record) -> NotificationRecord:
    return NotificationRecord(**{key: row[key] for key in NotificationRecord.__slots__})


async def notify(
    db: Db,
    *,
    recipient_id: int,
    kind: str,
    post_id: int | None,
    comment_id: int | None,
    actor_id: int,
    source_id: int = 0,
    window: timedelta,
) -> int | None:
    """Add the actor to the recipient's open group; the group's id when it changed."""
    row = await db.fetchrow(
        "SELECT notification_id, changed FROM notify_event($1, $2, $3, $4, $5, $6, $7)",
        recipient_id,
        kind,
        post_id,
        comment_id,
        actor_id,
        source_id,
        window,
    )
    assert row is not None
    return row["notification_id"] if row["changed"] else None


async def retract(
    db: Db, *, recipient_id: int, kind: str, post_id: int | None, actor_id: int, source_id: int = 0
) -> int | None:
    """Take the actor's event back out of its group; the group's id, or None if none held it."""
    value = await db.fetchval(
        "SELECT notification_id FROM retract_event($1, $2, $3, $4, $5)",
        recipient_id,
        kind,
        post_id,
        actor_id,
        source_id,
    )
    return value if isinstance(value, int) else None


async def retract_between(db: Db, a: int, b: int) -> list[tuple[int, int]]:
    """Take every event of b out of a's notifications and every event of a out of b's
    (`retract_actor_events`: exact counts and faces, empty groups deleted); one statement.
    Returns (recipient id, notification id) of each group that changed or disappeared."""
    rows = await db.fetch(
        """
        SELECT $1::bigint AS recipient_id, notification_id FROM retract_actor_events($1, $2)
        UNION ALL
        SELECT $2::bigint, notification_id FROM retract_actor_events($2, $1)
        """,
        a,
        b,
    )
    return [(row["recipient_id"], row["notification_id"]) for row in rows]


async def fetch_notifications_by_ids(db: Db, ids: Sequence[int]) -> list[NotificationRecord]:
    """The notifications among `ids` that exist and are shown to their recipients (_SHOWN)."""
    rows = await db.fetch(
        f"SELECT {NOTIFICATION_COLUMNS} FROM notifications"
        f" WHERE id = ANY($1::bigint[]) AND {_SHOWN}",
        ids,
    )
    return [notification_from_row(row) for row in rows]


async def fetch_notifications_page(
    db: Db, recipient_id: int, *, limit: int, after: NotificationCursor | None
) -> list[NotificationRecord]:
    """The recipient's notifications, newest first, after the keyset `after`."""
    rows = await db.fetch(
        f"""
        SELECT {NOTIFICATION_COLUMNS} FROM notifications
         WHERE recipient_id = $1 AND actor_count > 0 AND {_SHOWN}
           AND (post_id IS NULL OR post_id IN (SELECT id FROM posts WHERE status = 'PUBLISHED'))
           AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
         ORDER BY created_at DESC, id DESC
         LIMIT $4
        """,
        recipient_id,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [notification_from_row(row) for row in rows]


async def count_unread(db: Db, recipient_id: int) -> int:
    value = await db.fetchval(
        f"""
        SELECT count(*) FROM notifications
         WHERE recipient_id = $1 AND read_at IS NULL AND actor_count > 0 AND {_SHOWN}
        """,
        recipient_id,
    )
    assert isinstance(value, int)
    return value


async def mark_read(db: Db, recipient_id: int, *, up_to: int | None) -> int:
    """Mark read (and close for aggregation) the recipient's notifications up to and including
    `up_to` in list order (all when None); returns how many changed."""
    status = await db.execute(
        """
        UPDATE notifications n SET read_at = now(), open_key = NULL
         WHERE n.recipient_id = $1 AND n.read_at IS NULL
           AND ($2::bigint IS NULL OR (n.created_at, n.id) <= (
                SELECT created_at, id FROM notifications WHERE id = $2 AND recipient_id = $1))
        """,
        recipient_id,
        up_to,
    )
    return int(status.split()[-1])


async def insert_moderation_notice(db: Db, *, recipient_id: int, kind: str, action_id: int) -> int:
    """One notification of a moderation decision (never aggregated: no open key), its own
    actor being the recipient (the moderator is never named); its id."""
    notification_id: int = await db.fetchval(
        """
        WITH notice AS (
            INSERT INTO notifications
                (recipient_id, kind, actor_id, actor_count, moderation_action_id)
            VALUES ($1, $2, $1, 1, $3)
            RETURNING id
        ), actor AS (
            INSERT INTO notification_actors (notification_id, actor_id, source_id)
            SELECT id, $1, $3 FROM notice
        )
        SELECT id FROM notice
        """,
        recipient_id,
        kind,
        action_id,
    )
    return notification_id
