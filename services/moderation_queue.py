"""The moderation queue: open cases, highest priority first, and claiming them
(docs/moderation.md, "The queue").

priority = severity × distinct reporters × reach

- severity: the gravest of the case's report reasons and system findings (REASON_SEVERITY,
  SOURCE_SEVERITY below), 1..10;
- distinct reporters: how many accounts reported it (at least 1: a system finding counts as
  one);
- reach: 1 + ln(1 + the owner's followers + the post's likes): how many people the subject
  can reach, on a log scale so that a popular account's case comes first without starving
  every other.
"""

from __future__ import annotations

from dataclasses import dataclass

from services import cursors
from services.auth import Viewer
from services.cursors import ModerationQueueCursor
from services.errors import DomainError, UserErrorCode
from services.pagination import Page, check_page_size, page_of
from services.roles import Role, require_role
from storage.pg import Db, transaction
from storage.pg import media as media_store
from storage.pg import moderation_cases as case_store
from storage.pg import moderation_content as content_store
from storage.pg.media import MediaRecord
from storage.pg.moderation_cases import ActionRecord, CaseRecord, FindingRecord, ReportRecord

REASON_SEVERITY: dict[str, int] = {
    "SELF_HARM": 10,
    "VIOLENCE": 8,
    "NUDITY": 7,
    "HATE": 7,
    "HARASSMENT": 5,
    "INTELLECTUAL_PROPERTY": 3,
    "SPAM": 2,
    "OTHER": 1,
}
"""Risk to people first (self-harm, violence), then content that harms on sight, then the
rest. Known-bad images rank with self-harm; a classifier flag (a guess) below nudity reports."""
SOURCE_SEVERITY: dict[str, int] = {"KNOWN_IMAGE": 10, "CLASSIFIER": 6}
REPORTS_SHOWN = 50
"""A case lists its latest 50 reports (with notes and reporters); the counts cover them all."""
FINDINGS_SHOWN = 20
"""And its latest 20 findings of the media pipeline."""


@dataclass(frozen=True, slots=True)
class CaseView:
    """A case as moderators see it: the case, its latest reports (REPORTS_SHOWN, with their
    reporters), how many reports of each reason it holds, its findings, and its priority
    terms while it is under review (None once resolved)."""

    case: CaseRecord
    reports: list[ReportRecord]
    reason_counts: list[tuple[str, int]]
    """(reason, reports) of every report of the case, most frequent first."""
    findings: list[FindingRecord]
    severity: int | None = None
    reporters: int | None = None
    reach: float | None = None
    priority: float | None = None


async def list_queue(db: Db, viewer: Viewer, *, first: int, after: str | None) -> Page[CaseView]:
    """The open and claimed cases, highest priority first (ties: newest case first). Raises
    DomainError FORBIDDEN for anyone but moderators and admins. No side effects."""
    await require_role(db, viewer, Role.MODERATOR)
    limit = check_page_size(first)
    keyset = None
    if after is not None:
        cursor = cursors.decode(after, ModerationQueueCursor, of="queue")
        keyset = (cursor.priority, cursor.case_id)
    entries = await case_store.fetch_queue_page(
        db,
        reason_weights=REASON_SEVERITY,
        source_weights=SOURCE_SEVERITY,
        limit=limit + 1,
        after=keyset,
    )
    views = await _with_details(db, [entry.case for entry in entries])
    edges = [
        (
            cursors.encode(ModerationQueueCursor(entry.priority, entry.case.id)),
            CaseView(
                case=view.case,
                reports=view.reports,
                reason_counts=view.reason_counts,
                findings=view.findings,
                severity=entry.severity,
                reporters=entry.reporters,
                reach=entry.reach,
                priority=entry.priority,
            ),
        )
        for entry, view in zip(entries, views, strict=True)
    ]
    return page_of(edges, limit)


async def fetch_case(db: Db, viewer: Viewer, case_id: int | None) -> CaseView | None:
    """One case with its reports and findings (moderators only: FORBIDDEN otherwise, checked
    first); None when there is none (`case_id` None: an id that names no case)."""
    await require_role(db, viewer, Role.MODERATOR)
    if case_id is None:
        return None
    found = await case_store.fetch_cases_by_ids(db, [case_id])
    if not found:
        return None
    (view,) = await _with_details(db, found)
    return view


async def claim_case(db: Db, viewer: Viewer, case_id: int) -> CaseView:
    """The moderator takes the case: it is theirs to resolve. Claiming one's own claim again
    changes nothing; an admin may take over another moderator's claim.

    Raises DomainError FORBIDDEN (not a moderator; claimed by another moderator), NOT_FOUND
    (no such case), INVALID_INPUT (resolved already); nothing changed then. Side effects: the
    case's status, claimant and claim time."""
    role = await require_role(db, viewer, Role.MODERATOR)
    async with transaction(db) as conn:
        case = await case_store.lock_case(conn, case_id)
        if case is None:
            raise DomainError.single(UserErrorCode.NOT_FOUND, "No such case.", "caseId")
        if case.status == "RESOLVED":
            raise DomainError.single(
                UserErrorCode.INVALID_INPUT, "This case is resolved already.", "caseId"
            )
        if case.claimed_by != viewer.user_id:
            if case.status == "CLAIMED" and role is not Role.ADMIN:
                raise DomainError.single(
                    UserErrorCode.FORBIDDEN, "Another moderator has claimed this case.", "caseId"
                )
            await case_store.claim(conn, case_id, viewer.user_id)
    view = await fetch_case(db, viewer, case_id)
    assert view is not None
    return view


async def _with_details(db: Db, cases: list[CaseRecord]) -> list[CaseView]:
    """The cases with their reports, counts and findings (three queries for any number of
    cases)."""
    ids = [case.id for case in cases]
    if not ids:
        return []
    reports = await case_store.fetch_reports_of_cases(db, ids, per_case=REPORTS_SHOWN)
    counts = await case_store.fetch_reason_counts(db, ids)
    findings = await case_store.fetch_findings_of_cases(db, ids, per_case=FINDINGS_SHOWN)
    return [
        CaseView(
            case=case,
            reports=[r for r in reports if r.case_id == case.id],
            reason_counts=[(reason, n) for case_id, reason, n in counts if case_id == case.id],
            findings=[f for f in findings if f.case_id == case.id],
        )
        for case in cases
    ]


async def subject_text(db: Db, case: CaseRecord) -> str | None:
    """What the subject of a case says (caption, comment, username and bio), read whoever may
    see it: for a case already handed to a moderator (list_queue, fetch_case, claim_case check
    the role). No side effects."""
    return await case_store.fetch_subject_text(db, case.subject_kind, case.subject_id)


async def subject_media(db: Db, case: CaseRecord) -> list[MediaRecord]:
    """The media the subject of a case shows (a post's, in carousel order; a media item),
    read whoever may see them; as subject_text, for moderators only. No side effects."""
    media_ids = await case_store.fetch_subject_media_ids(db, case.subject_kind, case.subject_id)
    if not media_ids:
        return []
    found = {m.id: m for m in await media_store.fetch_media_by_ids(db, media_ids)}
    return [found[i] for i in media_ids if i in found]


async def strike_count(db: Db, user_id: int) -> int | None:
    """The account's strikes in force (WARN decisions not undone), for moderators."""
    counts = await content_store.fetch_strike_counts(db, [user_id])
    return counts.get(user_id)


async def fetch_actions(db: Db, action_ids: list[int]) -> list[ActionRecord]:
    """Entries of the audit log by id (for a moderator's view of an appeal)."""
    return await case_store.fetch_actions_by_ids(db, action_ids)
