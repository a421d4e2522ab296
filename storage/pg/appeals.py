"""Queries on `moderation_appeals` (services/appeals.py holds the rules)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from storage.pg import Db


@dataclass(frozen=True, slots=True)
class AppealRecord:
    id: int
    action_id: int
    appellant_id: int
    statement: str
    status: str
    decided_by: int | None
    decision_reason: str | None
    created_at: datetime
    decided_at: datetime | None


APPEAL_COLUMNS = ", ".join(AppealRecord.__slots__)


def appeal_from_row(row: asyncpg.Record) -> AppealRecord:
    return AppealRecord(**{key: row[key] for key in AppealRecord.__slots__})


async def insert_appeal(
    db: Db, *, action_id: int, appellant_id: int, statement: str
) -> AppealRecord | None:
    """File the appeal; None (nothing written) when the action has one already."""
    row = await db.fetchrow(
        f"""
        INSERT INTO moderation_appeals (action_id, appellant_id, statement)
        VALUES ($1, $2, $3)
        ON CONFLICT (action_id) DO NOTHING
        RETURNING {APPEAL_COLUMNS}
        """,
        action_id,
        appellant_id,
        statement,
    )
    return appeal_from_row(row) if row else None


async def lock_appeal(db: Db, appeal_id: int) -> AppealRecord | None:
    row = await db.fetchrow(
        f"SELECT {APPEAL_COLUMNS} FROM moderation_appeals WHERE id = $1 FOR UPDATE", appeal_id
    )
    return appeal_from_row(row) if row else None


async def fetch_appeals_by_ids(db: Db, ids: Sequence[int]) -> list[AppealRecord]:
    rows = await db.fetch(
        f"SELECT {APPEAL_COLUMNS} FROM moderation_appeals WHERE id = ANY($1::bigint[])", ids
    )
    return [appeal_from_row(row) for row in rows]


async def fetch_appeals_of_actions(db: Db, action_ids: Sequence[int]) -> list[AppealRecord]:
    rows = await db.fetch(
        f"SELECT {APPEAL_COLUMNS} FROM moderation_appeals WHERE action_id = ANY($1::bigint[])",
        action_ids,
    )
    return [appeal_from_row(row) for row in rows]


async def decide(
    db: Db, appeal_id: int, *, status: str, moderator_id: int, reason: str
) -> AppealRecord:
    row = await db.fetchrow(
        f"""
        UPDATE moderation_appeals
           SET status = $2, decided_by = $3, decision_reason = $4, decided_at = now()
         WHERE id = $1
        RETURNING {APPEAL_COLUMNS}
        """,
        appeal_id,
        status,
        moderator_id,
        reason,
    )
    assert row is not None
    return appeal_from_row(row)


async def fetch_pending_page(
    db: Db, *, limit: int, after: tuple[datetime, int] | None
) -> list[AppealRecord]:
    """Pending appeals, oldest first (first filed, first decided), after the keyset `after`."""
    rows = await db.fetch(
        f"""
        SELECT {APPEAL_COLUMNS} FROM moderation_appeals
         WHERE status = 'PENDING' AND ($1::timestamptz IS NULL OR (created_at, id) > ($1, $2))
         ORDER BY created_at, id
         LIMIT $3
        """,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [appeal_from_row(row) for row in rows]
