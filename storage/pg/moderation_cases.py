"""Queries on `moderation_cases`, `moderation_findings`, `reports` and the audit log
`moderation_actions` (services/moderation_cases.py and services/moderation_queue.py hold the
rules; docs/moderation.md the model)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from storage.pg import Db


def owner_of_subject_sql(kind: str, subject_id: str) -> str:
    """The account a subject (`kind`, `subject_id`: SQL expressions) belongs to: a post's or
    comment's author, a media item's owner, the account itself; NULL when it does not exist."""
    return f"""
    CASE {kind}::text
        WHEN 'POST' THEN (SELECT author_id FROM posts WHERE id = {subject_id})
        WHEN 'COMMENT' THEN (SELECT author_id FROM comments WHERE id = {subject_id})
        WHEN 'MEDIA' THEN (SELECT owner_id FROM media WHERE id = {subject_id})
        ELSE (SELECT id FROM users WHERE id = {subject_id})
    END"""


@dataclass(frozen=True, slots=True)
class CaseRecord:
    id: int
    subject_kind: str
    subject_id: int
    subject_owner_id: int | None
    sources: list[str]
    status: str
    claimed_by: int | None
    claimed_at: datetime | None
    resolved_by: int | None
    resolved_at: datetime | None
    resolution: str | None
    resolution_reason: str | None
    hidden_pending_review: bool
    opened_at: datetime


CASE_COLUMNS = ", ".join(CaseRecord.__slots__)


def case_from_row(row: asyncpg.Record) -> CaseRecord:
    return CaseRecord(**{key: row[key] for key in CaseRecord.__slots__})


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """An open case with the terms of its priority (docs/moderation.md)."""

    case: CaseRecord
    severity: int
    reporters: int
    reach: float
    priority: float


@dataclass(frozen=True, slots=True)
class ReportRecord:
    id: int
    case_id: int
    reporter_id: int
    reason: str
    note: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class FindingRecord:
    id: int
    case_id: int
    source: str
    detail: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ActionRecord:
    """One entry of the audit log."""

    id: int
    actor_id: int | None
    action: str
    subject_kind: str
    subject_id: int
    subject_owner_id: int | None
    reason: str
    case_id: int | None
    reverses_id: int | None
    until: datetime | None
    created_at: datetime


ACTION_COLUMNS = ", ".join(ActionRecord.__slots__)


def action_from_row(row: asyncpg.Record) -> ActionRecord:
    return ActionRecord(**{key: row[key] for key in ActionRecord.__slots__})


async def fetch_subject_owner(db: Db, kind: str, subject_id: int) -> int | None:
    """The account the subject belongs to; None when the subject does not exist."""
    owner: int | None = await db.fetchval(
        f"SELECT {owner_of_subject_sql('$1', '$2')}", kind, subject_id
    )
    return owner


async def open_case(db: Db, kind: str, subject_id: int, *, source: str) -> int:
    """The id of the subject's case under review (OPEN or CLAIMED), with `source` added to its
    sources; a new OPEN case when it has none. One statement (an upsert on the one-open-case
    index), so that concurrent openers share one case."""
    case_id: int = await db.fetchval(
        f"""
        INSERT INTO moderation_cases (subject_kind, subject_id, subject_owner_id, sources)
        VALUES ($1, $2, {owner_of_subject_sql("$1", "$2")}, ARRAY[$3::text])
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


async def fetch_case_under_review(db: Db, kind: str, subject_id: int) -> CaseRecord | None:
    """The subject's OPEN or CLAIMED case, if any."""
    row = await db.fetchrow(
        f"SELECT {CASE_COLUMNS} FROM moderation_cases"
        " WHERE subject_kind = $1 AND subject_id = $2 AND status IN ('OPEN', 'CLAIMED')",
        kind,
        subject_id,
    )
    return case_from_row(row) if row else None


async def lock_case(db: Db, case_id: int) -> CaseRecord | None:
    """The case, its row locked for the rest of the transaction; None when there is none."""
    row = await db.fetchrow(
        f"SELECT {CASE_COLUMNS} FROM moderation_cases WHERE id = $1 FOR UPDATE", case_id
    )
    return case_from_row(row) if row else None


async def fetch_cases_by_ids(db: Db, ids: Sequence[int]) -> list[CaseRecord]:
    rows = await db.fetch(
        f"SELECT {CASE_COLUMNS} FROM moderation_cases WHERE id = ANY($1::bigint[])", ids
    )
    return [case_from_row(row) for row in rows]


async def insert_report(
    db: Db,
    *,
    case_id: int,
    reporter_id: int,
    kind: str,
    subject_id: int,
    reason: str,
    note: str | None,
) -> bool:
    """File the reporter's report in the case; False (nothing written) when they have one there."""
    status = await db.execute(
        """
        INSERT INTO reports (case_id, reporter_id, subject_kind, subject_id, reason, note)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (case_id, reporter_id) DO NOTHING
        """,
        case_id,
        reporter_id,
        kind,
        subject_id,
        reason,
        note,
    )
    return status == "INSERT 0 1"


async def has_report_under_review(db: Db, reporter_id: int, kind: str, subject_id: int) -> bool:
    """The reporter has a report in the subject's case under review."""
    found = await db.fetchval(
        """
        SELECT EXISTS (
            SELECT 1 FROM moderation_cases c JOIN reports r ON r.case_id = c.id
             WHERE c.subject_kind = $2 AND c.subject_id = $3 AND c.status IN ('OPEN', 'CLAIMED')
               AND r.reporter_id = $1)
        """,
        reporter_id,
        kind,
        subject_id,
    )
    return bool(found)


async def count_reporters(db: Db, case_id: int) -> int:
    """Distinct accounts that reported in the case (one report each)."""
    count: int = await db.fetchval("SELECT count(*) FROM reports WHERE case_id = $1", case_id)
    return count


async def mark_hidden_pending_review(db: Db, case_id: int, hidden: bool) -> None:
    await db.execute(
        "UPDATE moderation_cases SET hidden_pending_review = $2 WHERE id = $1", case_id, hidden
    )


async def claim(db: Db, case_id: int, moderator_id: int) -> None:
    await db.execute(
        "UPDATE moderation_cases SET status = 'CLAIMED', claimed_by = $2, claimed_at = now()"
        " WHERE id = $1",
        case_id,
        moderator_id,
    )


async def resolve(db: Db, case_id: int, *, moderator_id: int, resolution: str, reason: str) -> None:
    """RESOLVED with the decision; the subject's hidden-pending-review mark ends with it."""
    await db.execute(
        """
        UPDATE moderation_cases
           SET status = 'RESOLVED', resolved_by = $2, resolved_at = now(), resolution = $3,
               resolution_reason = $4, hidden_pending_review = false
         WHERE id = $1
        """,
        case_id,
        moderator_id,
        resolution,
        reason,
    )


async def reopen(db: Db, case_id: int) -> None:
    """A RESOLVED case back to OPEN (unclaimed, no resolution)."""
    await db.execute(
        """
        UPDATE moderation_cases
           SET status = 'OPEN', claimed_by = NULL, claimed_at = NULL, resolved_by = NULL,
               resolved_at = NULL, resolution = NULL, resolution_reason = NULL
         WHERE id = $1
        """,
        case_id,
    )


_QUEUE = f"""
WITH weights_of_reasons AS (
    SELECT * FROM unnest($1::text[], $2::int[]) AS w(reason, weight)
), weights_of_sources AS (
    SELECT * FROM unnest($3::text[], $4::int[]) AS w(source, weight)
), under_review AS (
    SELECT * FROM moderation_cases WHERE status IN ('OPEN', 'CLAIMED')
), reported AS (
    SELECT r.case_id, max(w.weight) AS severity, count(*) AS reporters
      FROM under_review c
      JOIN reports r ON r.case_id = c.id
      JOIN weights_of_reasons w ON w.reason = r.reason
     GROUP BY r.case_id
), found AS (
    SELECT f.case_id, max(w.weight) AS severity
      FROM under_review c
      JOIN moderation_findings f ON f.case_id = c.id
      JOIN weights_of_sources w ON w.source = f.source
     GROUP BY f.case_id
), terms AS (
    SELECT c.*,
           greatest(coalesce(reported.severity, 0), coalesce(found.severity, 0)) AS severity,
           greatest(1, coalesce(reported.reporters, 0))::int AS reporters,
           (1 + ln(1 + coalesce(u.follower_count, 0) + coalesce(p.like_count, 0)))::float8
               AS reach
      FROM under_review c
      LEFT JOIN reported ON reported.case_id = c.id
      LEFT JOIN found ON found.case_id = c.id
      LEFT JOIN users u ON u.id = c.subject_owner_id
      LEFT JOIN posts p ON c.subject_kind = 'POST' AND p.id = c.subject_id
), ranked AS (
    SELECT *, severity * reporters * reach AS priority FROM terms
)
SELECT {CASE_COLUMNS}, severity, reporters, reach, priority FROM ranked
 WHERE $5::float8 IS NULL OR (priority, id) < ($5, $6)
 ORDER BY priority DESC, id DESC
 LIMIT $7
"""


async def fetch_queue_page(
    db: Db,
    *,
    reason_weights: Mapping[str, int],
    source_weights: Mapping[str, int],
    limit: int,
    after: tuple[float, int] | None,
) -> list[QueueEntry]:
    """Open and claimed cases, highest priority first (priority = severity × distinct
    reporters × reach: docs/moderation.md), after the keyset `after` (priority, case id)."""
    rows = await db.fetch(
        _QUEUE,
        list(reason_weights),
        list(reason_weights.values()),
        list(source_weights),
        list(source_weights.values()),
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [
        QueueEntry(
            case=case_from_row(row),
            severity=row["severity"],
            reporters=row["reporters"],
            reach=row["reach"],
            priority=row["priority"],
        )
        for row in rows
    ]


async def fetch_reports_of_cases(
    db: Db, case_ids: Sequence[int], *, per_case: int
) -> list[ReportRecord]:
    """The latest `per_case` reports of each of these cases, oldest first within a case."""
    rows = await db.fetch(
        """
        SELECT id, case_id, reporter_id, reason, note, created_at FROM (
            SELECT r.*, row_number() OVER (PARTITION BY case_id
                                           ORDER BY created_at DESC, id DESC) AS n
              FROM reports r WHERE case_id = ANY($1::bigint[])
        ) latest
         WHERE n <= $2
         ORDER BY case_id, created_at, id
        """,
        case_ids,
        per_case,
    )
    return [ReportRecord(**{k: row[k] for k in ReportRecord.__slots__}) for row in rows]


async def fetch_reason_counts(db: Db, case_ids: Sequence[int]) -> list[tuple[int, str, int]]:
    """(case id, reason, how many reports) of these cases, most frequent first per case."""
    rows = await db.fetch(
        """
        SELECT case_id, reason, count(*) AS reports FROM reports
         WHERE case_id = ANY($1::bigint[])
         GROUP BY case_id, reason
         ORDER BY case_id, count(*) DESC, reason
        """,
        case_ids,
    )
    return [(row["case_id"], row["reason"], row["reports"]) for row in rows]


async def fetch_findings_of_cases(
    db: Db, case_ids: Sequence[int], *, per_case: int
) -> list[FindingRecord]:
    """The latest `per_case` system findings of each of these cases, oldest first."""
    rows = await db.fetch(
        """
        SELECT id, case_id, source, detail, created_at FROM (
            SELECT f.*, row_number() OVER (PARTITION BY case_id
                                           ORDER BY created_at DESC, id DESC) AS n
              FROM moderation_findings f WHERE case_id = ANY($1::bigint[])
        ) latest
         WHERE n <= $2
         ORDER BY case_id, created_at, id
        """,
        case_ids,
        per_case,
    )
    return [FindingRecord(**dict(row)) for row in rows]


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
    """Append one entry to the audit log (with the subject's owner as it is now); its id."""
    action_id: int = await db.fetchval(
        f"""
        INSERT INTO moderation_actions
            (actor_id, action, subject_kind, subject_id, subject_owner_id, reason, case_id,
             reverses_id, until)
        VALUES ($1, $2, $3, $4, {owner_of_subject_sql("$3", "$4")}, $5, $6, $7, $8)
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


async def fetch_action(db: Db, action_id: int) -> ActionRecord | None:
    row = await db.fetchrow(
        f"SELECT {ACTION_COLUMNS} FROM moderation_actions WHERE id = $1", action_id
    )
    return action_from_row(row) if row else None


async def fetch_actions_by_ids(db: Db, ids: Sequence[int]) -> list[ActionRecord]:
    rows = await db.fetch(
        f"SELECT {ACTION_COLUMNS} FROM moderation_actions WHERE id = ANY($1::bigint[])", ids
    )
    return [action_from_row(row) for row in rows]


async def is_undone(db: Db, action_id: int) -> bool:
    """An entry of the log reverses this one (a RESTORE)."""
    found = await db.fetchval(
        "SELECT EXISTS (SELECT 1 FROM moderation_actions WHERE reverses_id = $1)", action_id
    )
    return bool(found)


async def lock_action(db: Db, action_id: int) -> ActionRecord | None:
    """The log entry, its row locked (FOR UPDATE: a lock, not a change; the append-only
    trigger fires on changes only) so that one restore or appeal decision at a time acts on
    it; None when there is none."""
    row = await db.fetchrow(
        f"SELECT {ACTION_COLUMNS} FROM moderation_actions WHERE id = $1 FOR UPDATE", action_id
    )
    return action_from_row(row) if row else None


async def fetch_actions_page(
    db: Db, *, limit: int, after: tuple[datetime, int] | None
) -> list[ActionRecord]:
    """The audit log, newest first, after the keyset `after` (created at, id)."""
    rows = await db.fetch(
        f"""
        SELECT {ACTION_COLUMNS} FROM moderation_actions
         WHERE $1::timestamptz IS NULL OR (created_at, id) < ($1, $2)
         ORDER BY created_at DESC, id DESC
         LIMIT $3
        """,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [action_from_row(row) for row in rows]


async def fetch_subject_text(db: Db, kind: str, subject_id: int) -> str | None:
    """What the subject says, whoever may see it (for moderators): a post's caption, a
    comment's text, an account's username and bio; None for media or when it is gone."""
    text: str | None = await db.fetchval(
        """
        SELECT CASE $1::text
            WHEN 'POST' THEN (SELECT caption FROM posts WHERE id = $2)
            WHEN 'COMMENT' THEN (SELECT text FROM comments WHERE id = $2)
            WHEN 'USER' THEN (SELECT concat_ws(E'\\n', username, bio) FROM users WHERE id = $2)
        END
        """,
        kind,
        subject_id,
    )
    return text


async def fetch_subject_media_ids(db: Db, kind: str, subject_id: int) -> list[int]:
    """The media a subject shows (for moderators): a post's in carousel order, a media item
    itself; none for comments and accounts."""
    if kind == "MEDIA":
        return [subject_id]
    if kind != "POST":
        return []
    rows = await db.fetch(
        "SELECT media_id FROM post_media WHERE post_id = $1 ORDER BY position", subject_id
    )
    return [row["media_id"] for row in rows]
