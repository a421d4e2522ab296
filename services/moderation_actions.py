"""Moderation actions: resolving a case with a decision, and restoring (undoing) a decision
(docs/moderation.md, "Actions").

Every action is appended to the audit log (services.moderation_cases.record_action) in the
transaction of its change. SUSPEND and BAN go through the suspension seam,
services.suspensions (suspend_account / lift_suspension), called before
the transaction that records them: both are idempotent, so a failure after them is retried
by the moderator without harm.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from services import notifications, suspensions
from services.auth import Viewer
from services.errors import DomainError, UserErrorCode
from services.moderation_cases import Subject, SubjectKind, record_action
from services.moderation_deps import ModerationDeps
from services.moderation_text import REASON_MAX, required_text
from services.roles import Role, require_role
from storage.pg import Connection, Db, transaction
from storage.pg import moderation_cases as case_store
from storage.pg import moderation_content as content_store
from storage.pg import notifications as notification_store
from storage.pg.moderation_cases import ActionRecord, CaseRecord


class Decision(enum.Enum):
    """How a moderator resolves a case."""

    DISMISS = "DISMISS"
    """Nothing wrong: the case closes, a hidden-pending-review subject is shown again."""
    REMOVE = "REMOVE"
    """A post or comment is hidden from everyone; its author is told why."""
    MARK_SENSITIVE = "MARK_SENSITIVE"
    """A media item is shown blurred behind a warning."""
    WARN = "WARN"
    """A strike on the subject's account; the account is told why."""
    SUSPEND = "SUSPEND"
    """The subject's account is suspended until a time (services.suspensions)."""
    BAN = "BAN"
    """The subject's account is suspended with no end (services.suspensions)."""


RESTORE = "RESTORE"
"""The log's name of an undo (its `reverses_id` names the entry undone)."""
_ON_ACCOUNT = {Decision.WARN, Decision.SUSPEND, Decision.BAN}
_NOTICES = {Decision.REMOVE.value: "CONTENT_REMOVED", Decision.WARN.value: "MODERATION_WARNING"}


async def resolve_case(
    deps: ModerationDeps,
    viewer: Viewer,
    case_id: int,
    decision: Decision,
    reason: str,
    *,
    suspend_until: datetime | None = None,
) -> ActionRecord:
    """Resolve the case with `decision` for `reason`; the audit-log entry written.

    Only the moderator who claimed the case resolves it (an admin resolves any open case).
    REMOVE takes a post or comment, MARK_SENSITIVE a media item; WARN, SUSPEND and BAN act on
    the subject's account (the author of a post or comment, the owner of a media item);
    SUSPEND needs `suspend_until` in the future (UTC when it has no offset), the others take
    none.

    Raises DomainError FORBIDDEN (not a moderator; claimed by someone else), NOT_FOUND (no such
    case), INVALID_INPUT (not claimed; resolved already; a decision the subject does not take;
    the subject is gone; a bad reason or end); nothing changed then. Side effects: the
    suspension (SUSPEND, BAN: first, through services.suspensions); then in one transaction
    the change (moderation_state, sensitive, a strike), the log entry, the case RESOLVED, the
    subject's hidden-pending-review hold released (unless removed), a notification
    (CONTENT_REMOVED, MODERATION_WARNING) to the account the subject belongs to; then its push.
    """
    cleaned = required_text(reason, field="reason", max_length=REASON_MAX)
    if suspend_until is not None and suspend_until.tzinfo is None:
        suspend_until = suspend_until.replace(tzinfo=UTC)  # a time without an offset is UTC
    role = await require_role(deps.db, viewer, Role.MODERATOR)
    found = await case_store.fetch_cases_by_ids(deps.db, [case_id])
    if not found:
        raise DomainError.single(UserErrorCode.NOT_FOUND, "No such case.", "caseId")
    owner_id = _check_resolvable(found[0], viewer, role, decision, suspend_until)
    if decision in (Decision.SUSPEND, Decision.BAN):
        assert owner_id is not None
        until = suspend_until if decision is Decision.SUSPEND else None
        await suspensions.suspend_account(deps.accounts, owner_id, until=until, reason=cleaned)
    async with transaction(deps.db) as conn:
        case = await case_store.lock_case(conn, case_id)
        assert case is not None
        _check_resolvable(case, viewer, role, decision, suspend_until)
        action_id = await _apply(conn, case, decision, cleaned, viewer.user_id, suspend_until)
        await case_store.resolve(
            conn, case.id, moderator_id=viewer.user_id, resolution=decision.value, reason=cleaned
        )
        if case.hidden_pending_review and decision is not Decision.REMOVE:
            await _release_hold(conn, case)
        action = await case_store.fetch_action(conn, action_id)
        assert action is not None
        deliveries = await _notify(conn, action)
    await notifications.announce(deps.redis, deliveries)
    return action


async def restore_action(
    deps: ModerationDeps, viewer: Viewer, action_id: int, reason: str
) -> ActionRecord:
    """Undo a decision: REMOVE shows the content again, MARK_SENSITIVE unblurs, WARN takes the
    strike back, SUSPEND and BAN lift the suspension, DISMISS reopens the case. Once per
    decision (an overturned appeal is an undo too). Returns the RESTORE entry of the log.

    Raises DomainError FORBIDDEN (not a moderator), NOT_FOUND (no such entry), INVALID_INPUT
    (not a decision; undone already; a newer case of the subject is open; a bad reason);
    nothing changed then. Side effects: lift_suspension first (SUSPEND, BAN); then in one
    transaction the undo and its log entry."""
    cleaned = required_text(reason, field="reason", max_length=REASON_MAX)
    await require_role(deps.db, viewer, Role.MODERATOR)
    action = await case_store.fetch_action(deps.db, action_id)
    if action is None:
        raise DomainError.single(UserErrorCode.NOT_FOUND, "No such action.", "actionId")
    await check_undoable(deps.db, action)
    await lift_if_suspension(deps, action)
    async with transaction(deps.db) as conn:
        restore_id = await undo_action(conn, action_id, actor_id=viewer.user_id, reason=cleaned)
        restored = await case_store.fetch_action(conn, restore_id)
    assert restored is not None
    return restored


async def check_undoable(db: Db, action: ActionRecord) -> None:
    """DomainError INVALID_INPUT unless `action` is a decision not undone yet."""
    if action.action not in Decision.__members__:
        raise DomainError.single(
            UserErrorCode.INVALID_INPUT, "Only a case's decision can be undone.", "actionId"
        )
    if await case_store.is_undone(db, action.id):
        raise DomainError.single(
            UserErrorCode.INVALID_INPUT, "This action was undone already.", "actionId"
        )


async def lift_if_suspension(deps: ModerationDeps, action: ActionRecord) -> None:
    """Before undoing a SUSPEND or BAN: lift the account's suspension (idempotent)."""
    if action.action in (Decision.SUSPEND.value, Decision.BAN.value):
        await suspensions.lift_suspension(deps.accounts, action.subject_id)


async def undo_action(conn: Connection, action_id: int, *, actor_id: int, reason: str) -> int:
    """Inside the caller's transaction: lock the entry, check it again (check_undoable), undo
    its change (a suspension is lifted by the caller first: lift_if_suspension) and append the
    RESTORE entry; its id."""
    action = await case_store.lock_action(conn, action_id)
    assert action is not None
    await check_undoable(conn, action)
    decision = Decision(action.action)
    kind = action.subject_kind
    if decision is Decision.DISMISS:
        await _reopen(conn, action)
    elif decision is Decision.REMOVE:
        content = content_store.content_kind(kind)
        if await content_store.fetch_moderation_state(conn, content, action.subject_id) == (
            "REMOVED"
        ):
            await content_store.set_moderation_state(conn, content, action.subject_id, None)
    elif decision is Decision.MARK_SENSITIVE:
        await content_store.set_sensitive(conn, action.subject_id, False)
    elif decision is Decision.WARN:
        await content_store.add_strikes(conn, action.subject_id, -1)
    return await record_action(
        conn,
        actor_id=actor_id,
        action=RESTORE,
        subject=Subject(SubjectKind(kind), action.subject_id),
        reason=reason,
        case_id=action.case_id,
        reverses_id=action.id,
    )


def _check_resolvable(
    case: CaseRecord,
    viewer: Viewer,
    role: Role,
    decision: Decision,
    suspend_until: datetime | None,
) -> int | None:
    """Raise DomainError unless the viewer may resolve the case with the decision; the id of
    the account the subject belongs to (None when it is gone)."""
    if case.status == "RESOLVED":
        raise DomainError.single(
            UserErrorCode.INVALID_INPUT, "This case is resolved already.", "caseId"
        )
    if role is not Role.ADMIN:
        if case.status == "OPEN":
            raise DomainError.single(
                UserErrorCode.INVALID_INPUT, "Claim the case before resolving it.", "caseId"
            )
        if case.claimed_by != viewer.user_id:
            raise DomainError.single(
                UserErrorCode.FORBIDDEN, "Another moderator has claimed this case.", "caseId"
            )
    kind = case.subject_kind
    if decision is Decision.REMOVE and kind not in ("POST", "COMMENT"):
        raise DomainError.single(
            UserErrorCode.INVALID_INPUT, "Only a post or a comment can be removed.", "action"
        )
    if decision is Decision.MARK_SENSITIVE and kind != "MEDIA":
        raise DomainError.single(
            UserErrorCode.INVALID_INPUT, "Only a media item can be marked sensitive.", "action"
        )
    if (decision in _ON_ACCOUNT or decision is Decision.REMOVE) and case.subject_owner_id is None:
        raise DomainError.single(
            UserErrorCode.INVALID_INPUT, "The subject no longer exists.", "caseId"
        )
    if decision is Decision.SUSPEND:
        if suspend_until is None or suspend_until <= datetime.now(UTC):
            raise DomainError.single(
                UserErrorCode.INVALID_INPUT,
                "A suspension needs an end in the future.",
                "suspendUntil",
            )
    elif suspend_until is not None:
        raise DomainError.single(
            UserErrorCode.INVALID_INPUT, "Only SUSPEND takes an end.", "suspendUntil"
        )
    return case.subject_owner_id


async def _apply(
    conn: Connection,
    case: CaseRecord,
    decision: Decision,
    reason: str,
    actor_id: int,
    suspend_until: datetime | None,
) -> int:
    """The decision's change on the content or account, and its log entry; the entry's id."""
    subject = Subject(SubjectKind(case.subject_kind), case.subject_id)
    if decision in _ON_ACCOUNT:
        assert case.subject_owner_id is not None
        subject = Subject(SubjectKind.USER, case.subject_owner_id)
    if decision is Decision.REMOVE:
        kind = content_store.content_kind(case.subject_kind)
        exists, _ = await content_store.set_moderation_state(conn, kind, case.subject_id, "REMOVED")
        if not exists:
            raise DomainError.single(
                UserErrorCode.INVALID_INPUT, "The subject no longer exists.", "caseId"
            )
    elif decision is Decision.MARK_SENSITIVE:
        await content_store.set_sensitive(conn, case.subject_id, True)
    elif decision is Decision.WARN:
        await content_store.add_strikes(conn, subject.id, 1)
    return await record_action(
        conn,
        actor_id=actor_id,
        action=decision.value,
        subject=subject,
        reason=reason,
        case_id=case.id,
        until=suspend_until if decision is Decision.SUSPEND else None,
    )


async def _release_hold(conn: Connection, case: CaseRecord) -> None:
    """The subject was hidden pending review and the decision keeps it: shown again."""
    kind = content_store.content_kind(case.subject_kind)
    if await content_store.fetch_moderation_state(conn, kind, case.subject_id) == (
        "HIDDEN_PENDING_REVIEW"
    ):
        await content_store.set_moderation_state(conn, kind, case.subject_id, None)


async def _reopen(conn: Connection, action: ActionRecord) -> None:
    """Undo a DISMISS: its case is open again, unless a newer case of the subject is."""
    if action.case_id is None:
        return
    newer = await case_store.fetch_case_under_review(conn, action.subject_kind, action.subject_id)
    if newer is not None:
        raise DomainError.single(
            UserErrorCode.INVALID_INPUT,
            "A newer case of this subject is open: resolve that one.",
            "actionId",
        )
    await case_store.reopen(conn, action.case_id)


async def _notify(conn: Connection, action: ActionRecord) -> list[notifications.Delivery]:
    """The notice of a decision to the account it concerns (REMOVE, WARN)."""
    kind = _NOTICES.get(action.action)
    if kind is None or action.subject_owner_id is None:
        return []
    notice = await notification_store.insert_moderation_notice(
        conn, recipient_id=action.subject_owner_id, kind=kind, action_id=action.id
    )
    return [(action.subject_owner_id, notice)]
