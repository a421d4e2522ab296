"""Reports: anyone signed in reports a post, comment, media item or account they can see
(docs/moderation.md).

A report joins the subject's case under review (services.moderation_cases), one per reporter
and case: reporting the same subject again while its case is open changes nothing and answers
the same. A new report counts against the reporter's `report` rate limit (repeats are free).
When the distinct reporters of a post, comment or media item reach MODERATION_HIDE_AFTER_REPORTS
it is hidden from everyone until a moderator decides (accounts are not hidden by reports: a
brigade could silence anyone; suspension is a moderator's decision). Nothing is told to the
reported side, and who reported is shown to moderators only.
"""

from __future__ import annotations

import enum

from services import comments, media, moderation_cases, posts, visibility
from services.auth import Viewer
from services.errors import DomainError, UserErrorCode
from services.moderation_cases import CaseSource, Subject, SubjectKind
from services.moderation_deps import ModerationDeps
from services.moderation_text import NOTE_MAX, optional_text
from storage.pg import Connection, transaction
from storage.pg import moderation_cases as case_store


class ReportReason(enum.Enum):
    SPAM = "SPAM"
    NUDITY = "NUDITY"
    HARASSMENT = "HARASSMENT"
    VIOLENCE = "VIOLENCE"
    HATE = "HATE"
    SELF_HARM = "SELF_HARM"
    INTELLECTUAL_PROPERTY = "INTELLECTUAL_PROPERTY"
    OTHER = "OTHER"


_NOT_FOUND = "Nothing to report here."


async def report_content(
    deps: ModerationDeps,
    viewer: Viewer,
    subject: Subject,
    reason: ReportReason,
    note: str | None,
) -> None:
    """The viewer reports the subject. Idempotent: while the subject's case is under review a
    second report by the same viewer changes nothing (and is not rate limited).

    Raises DomainError NOT_FOUND (the viewer cannot see the subject, or it does not exist),
    INVALID_INPUT (their own content or account; a note services.text refuses),
    RATE_LIMITED; nothing changed then. Side effects, in one transaction: the case (opened,
    or REPORTS added to its sources) and the report; the subject's moderation_state and the
    case's hidden_pending_review when the threshold is reached; then the report counted in
    the rate limit (Redis).
    """
    cleaned_note = optional_text(note, field="note", max_length=NOTE_MAX)
    owner_id = await _visible_owner(deps, viewer.user_id, subject)
    if owner_id == viewer.user_id:
        raise DomainError.single(
            UserErrorCode.INVALID_INPUT,
            "You cannot report yourself or your own content.",
            "subject",
        )
    kind = subject.kind.value
    if await case_store.has_report_under_review(deps.db, viewer.user_id, kind, subject.id):
        return
    await deps.social.ensure_allowed("report", viewer.user_id)
    async with transaction(deps.db) as conn:
        case_id = await case_store.open_case(
            conn, kind, subject.id, source=CaseSource.REPORTS.value
        )
        filed = await case_store.insert_report(
            conn,
            case_id=case_id,
            reporter_id=viewer.user_id,
            kind=kind,
            subject_id=subject.id,
            reason=reason.value,
            note=cleaned_note,
        )
        if filed and subject.kind is not SubjectKind.USER:
            await _hide_when_reported_enough(conn, deps, case_id, subject)
    if filed:
        await deps.social.count("report", viewer.user_id)


async def _hide_when_reported_enough(
    conn: Connection, deps: ModerationDeps, case_id: int, subject: Subject
) -> None:
    """Hide the content pending review once its distinct reporters reach the threshold (and
    it is not held back already)."""
    if await case_store.count_reporters(conn, case_id) >= deps.hide_after_reports:
        await moderation_cases.hide_pending_review(conn, case_id, subject)


async def _visible_owner(deps: ModerationDeps, viewer_id: int, subject: Subject) -> int:
    """The account the subject belongs to, if the viewer may see it (the visibility rule of
    each kind); DomainError NOT_FOUND otherwise."""
    db = deps.db
    owner: int | None = None
    match subject.kind:
        case SubjectKind.POST:
            post = await posts.fetch_visible_post(db, viewer_id, subject.id)
            owner = post.author_id if post else None
        case SubjectKind.COMMENT:
            found = await comments.fetch_comments(db, viewer_id, [subject.id])
            owner = found[0].author_id if found else None
        case SubjectKind.MEDIA:
            items = await media.fetch_visible_media(db, viewer_id, [subject.id])
            owner = items[0].owner_id if items else None
        case SubjectKind.USER:
            relations = await visibility.fetch_relations(db, viewer_id, [subject.id])
            relation = relations.get(subject.id)
            if relation and visibility.may_see_user(viewer_id, subject.id, relation):
                owner = subject.id
    if owner is None:
        raise DomainError.single(UserErrorCode.NOT_FOUND, _NOT_FOUND, "subject")
    return owner
