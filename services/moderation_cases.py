"""Moderation cases and the audit log (docs/moderation.md).

A case gathers everything known about one subject (a post, comment, media item or account)
while it is under review: people's reports (services/reports.py) and the media pipeline's
findings (known-bad images, the classifier). There is at most one OPEN or CLAIMED case per
subject; a RESOLVED case stays as the record. Every moderation action is appended to
`moderation_actions`, the audit log, which nothing updates or deletes (a trigger refuses it).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from storage.pg import Connection, Db, transaction
from storage.pg import moderation_cases as case_store
from storage.pg import moderation_content as content_store


class SubjectKind(enum.Enum):
    POST = "POST"
    COMMENT = "COMMENT"
    MEDIA = "MEDIA"
    USER = "USER"


@dataclass(frozen=True)
class Subject:
    """What a case or an action is about."""

    kind: SubjectKind
    id: int


class CaseSource(enum.Enum):
    """Where a case's findings came from."""

    REPORTS = "REPORTS"
    KNOWN_IMAGE = "KNOWN_IMAGE"
    CLASSIFIER = "CLASSIFIER"


async def open_system_case(
    db: Db, subject: Subject, *, source: CaseSource, detail: str, hide: bool = False
) -> int:
    """Open a case for the subject, or add this finding to its case under review, with no human
    reporter; the case's id. For the media pipeline's known-bad images and classifier flags.

    `detail` is shown to moderators only (e.g. "PDQ distance 12 to blocklist entry 42").
    `hide`: the subject is hidden pending review (the classifier's flags): the case's
    hidden_pending_review and the subject's moderation_state HIDDEN_PENDING_REVIEW (unless it
    is REMOVED already), read by the visibility rule.
    Side effects, in one transaction (a savepoint inside the caller's): the case (its
    `sources` gain `source`), one `moderation_findings` row, and the hiding when asked.
    Raises ValueError for the REPORTS source (reports come from people: services/reports.py)
    or an empty detail.
    """
    if source is CaseSource.REPORTS:
        raise ValueError("REPORTS cases are opened by people's reports (services/reports.py)")
    if not detail.strip():
        raise ValueError("a system finding needs a detail for the moderators")
    async with transaction(db) as conn:
        case_id = await case_store.open_case(
            conn, subject.kind.value, subject.id, source=source.value
        )
        await case_store.insert_finding(conn, case_id, source=source.value, detail=detail)
        if hide:
            await hide_pending_review(conn, case_id, subject)
    return case_id


async def hide_pending_review(conn: Connection, case_id: int, subject: Subject) -> None:
    """Hide the post, comment or media item from everyone until the case is decided: its
    moderation_state HIDDEN_PENDING_REVIEW (its counters kept exact) and the case's
    hidden_pending_review. Nothing for an account, or for content held back already."""
    if subject.kind is SubjectKind.USER:
        return
    kind = content_store.content_kind(subject.kind.value)
    if await content_store.fetch_moderation_state(conn, kind, subject.id) is not None:
        return
    await content_store.set_moderation_state(conn, kind, subject.id, "HIDDEN_PENDING_REVIEW")
    await case_store.mark_hidden_pending_review(conn, case_id, True)


async def record_action(
    db: Db,
    *,
    actor_id: int | None,
    action: str,
    subject: Subject,
    reason: str,
    case_id: int | None,
    reverses_id: int | None = None,
    until: datetime | None = None,
) -> int:
    """Append one entry to the audit log and return its id (appeals name it).

    `actor_id` None: the system acted. `reverses_id`: the entry a RESTORE undoes; `until`: the
    end of a suspension. Side effect: one `moderation_actions` row (append-only). Run it in the
    transaction of the change it records, so that the two commit together.
    """
    return await case_store.insert_action(
        db,
        actor_id=actor_id,
        action=action,
        subject_kind=subject.kind.value,
        subject_id=subject.id,
        reason=reason,
        case_id=case_id,
        reverses_id=reverses_id,
        until=until,
    )
