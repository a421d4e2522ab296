"""Queries of suspensions and bans (services/suspensions.py; migration 0021).

An account is suspended while `users.suspended_at` is set and `suspended_until` is NULL (a ban)
or still ahead of now(); `suspended_sql` is the one SQL spelling of that, used by the
visibility rule (storage/pg/visibility.py) and by log-in (`fetch_active_for_update`), so the
two agree at the boundary: both compare with the database's clock.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from storage.pg import Db


def suspended_sql(user: str) -> str:
    """The users row aliased `user` is suspended now (a ban, or a suspension not yet over)."""
    return (
        f"({user}.suspended_at IS NOT NULL"
        f" AND ({user}.suspended_until IS NULL OR {user}.suspended_until > now()))"
    )


class ActiveSuspension(NamedTuple):
    """A suspension in force: until when (None: a ban)."""

    until: datetime | None


class Replaced(NamedTuple):
    """What a suspension's change replaced: the end of the suspension recorded before, in
    force or over (None: a ban, or none)."""

    previous_until: datetime | None


async def mark_suspended(
    db: Db, user_id: int, *, until: datetime | None, reason: str
) -> Replaced | None:
    """Suspend the account until `until` (None: ban it), replacing any suspension in force
    (its start is kept; a suspension that had already ended starts again now). None when the
    account does not exist. Locks the user's row (as log-in does: fetch_active_for_update)."""
    row = await db.fetchrow(
        f"""
        WITH old AS (SELECT id, suspended_until FROM users WHERE id = $1 FOR UPDATE)
        UPDATE users u
           SET suspended_at = CASE WHEN {suspended_sql("u")} THEN u.suspended_at ELSE now() END,
               suspended_until = $2,
               suspension_reason = $3
          FROM old
         WHERE u.id = old.id
        RETURNING old.suspended_until
        """,
        user_id,
        until,
        reason,
    )
    return None if row is None else Replaced(row["suspended_until"])


async def clear_suspension(db: Db, user_id: int) -> Replaced | None:
    """End the account's suspension or ban, if any (an ended one's traces too). None when the
    account does not exist."""
    row = await db.fetchrow(
        """
        WITH old AS (SELECT id, suspended_until FROM users WHERE id = $1 FOR UPDATE)
        UPDATE users u
           SET suspended_at = NULL, suspended_until = NULL, suspension_reason = NULL
          FROM old
         WHERE u.id = old.id
        RETURNING old.suspended_until
        """,
        user_id,
    )
    return None if row is None else Replaced(row["suspended_until"])


async def fetch_active_for_update(db: Db, user_id: int) -> ActiveSuspension | None:
    """The account's suspension in force, None when there is none (or no account). Locks the
    user's row for the caller's transaction, so that a log-in and a suspension serialise: a
    suspension committed first is seen here; one committed later finds the new session and
    revokes it."""
    row = await db.fetchrow(
        f"""
        SELECT u.suspended_until, {suspended_sql("u")} AS active
          FROM users u WHERE u.id = $1 FOR UPDATE
        """,
        user_id,
    )
    if row is None or not row["active"]:
        return None
    return ActiveSuspension(row["suspended_until"])
