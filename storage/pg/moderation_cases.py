"""Queries on `moderation_cases`, `moderation_findings` and the audit log `moderation_actions`
(services/moderation_cases.py holds the rules; docs/moderation.md the model)."""

from __future__ import annotations

from datetime import datetime

from storage.pg import Db

OWNER_OF_SUBJECT_SQL = """
    CASE $1::text
        WHEN 'POST' THEN (SELECT author_id FROM posts WHERE id = $2)
        WHEN 'COMMENT' THEN (SELECT author_id FROM comments WHERE id = $2)
        WHEN 'MEDIA' THEN (SELECT owner_id FROM media WHERE id = $2)
        ELSE (SELECT id FROM users WHERE id = $2)
    END"""
"""The account a subject ($1 kind, $2 id) belongs to; NULL when the subject does not exist."""


async def fetch_subject_owner(db: Db, kind: str, subject_id: int) -> int | None:
    """The account the subject belongs to (author, owner, the account itself); None when the
    subject does not exist."""
    owner: int | None = await db.fetchval(f"SELECT {OWNER_OF_SUBJECT_SQL}", kind, subject_id)
    return owner


async def open_case(db: Db, kind: str, subject_id: int, *, source: str) -> int:
    """The id of the subject's case under review (OPEN or CLAIMED), with `source` added to its
    sources; a new OPEN case when it has none. One statement (an upsert on the one-open-case
    index), so that concurrent openers share one case."""
    case_id: int = await db.fetchval(
        f"""
        INSERT INTO moderation_cases (subject_kind, subject_id, subject_owner_id, sources)
        VALUES ($1, $2, {OWNER_OF_SUBJECT_SQL}, ARRAY[$3::text])
        ON CONFLICT (subject_kind, subject_id) WHERE status IN ('OPEN', 'CLAIMED')
        DO UPDATE SET sources = CASE WHEN $3 = ANY (moderation_cases.sources)
                                     THEN moderation_cases.sources
                                     ELSE moderation_cases.sources || $3::text END
        RETURNING id
        """,
        kind,
        subject_id,
        source,
    )
    return case_id


async def insert_finding(db: Db, case_id: int, *, source: str, detail: str) -> None:
    await db.execute(
        "INSERT INTO moderation_findings (case_id, source, detail) VALUES ($1, $2, $3)",
        case_id,
        source,
        detail,
    )


async def insert_action(
    db: Db,
    *,
    actor_id: int | None,
    action: str,
    subject_kind: str,
    subject_id: int,
    reason: str,
    case_id: int | None,
    reverses_id: int | None = None,
    until: datetime | None = None,
) -> int:
    """Append one entry to the audit log; its id."""
    action_id: int = await db.fetchval(
        """
        INSERT INTO moderation_actions
            (actor_id, action, subject_kind, subject_id, reason, case_id, reverses_id, until)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        RETURNING id
        """,
        actor_id,
        action,
        subject_kind,
        subject_id,
        reason,
        case_id,
        reverses_id,
        until,
    )
    return action_id
