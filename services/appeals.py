"""Appeals: the account a decision hit asks for a second look, once per decision; a moderator
other than the one who decided rules on it (docs/moderation.md, "Appeals").

Appealable: REMOVE (by the content's author), MARK_SENSITIVE (the media's owner), WARN,
SUSPEND and BAN (the account). A suspended account cannot sign in, so it appeals once the
suspension ends (the decision stays appealable with no deadline); a banned person writes to
the operator, whose moderator restores the ban if it was wrong (restoreModerationAction,
logged like every action).
"""

from __future__ import annotations

import enum

from services import notifications
from services.auth import Viewer
from services.cursors import decode_time_id_cursor, encode_time_id_cursor
from services.errors import DomainError, UserErrorCode
from services.moderation_actions import (
    Decision,
    check_undoable,
    lift_if_suspension,
    undo_action,
)
from services.moderation_cases import Subject, SubjectKind, record_action
from services.moderation_deps import ModerationDeps
from services.moderation_text import REASON_MAX, STATEMENT_MAX, required_text
from services.pagination import Page, check_page_size, page_of
from services.roles import Role, require_role
from storage.pg import Db, transaction
from storage.pg import appeals as appeal_store
from storage.pg import moderation_cases as case_store
from storage.pg import notifications as notification_store
from storage.pg.appeals import AppealRecord

APPEALABLE = frozenset(
    d.value
    for d in (
        Decision.REMOVE,
        Decision.MARK_SENSITIVE,
        Decision.WARN,
        Decision.SUSPEND,
        Decision.BAN,
    )
)
APPEAL_UPHELD = "APPEAL_UPHELD"
"""The log's name of an appeal decided against the appellant (an overturned one is a RESTORE)."""


class AppealOutcome(enum.Enum):
    UPHELD = "UPHELD"
    """The decision stands."""
    OVERTURNED = "OVERTURNED"
    """The decision is undone (as restoreModerationAction does)."""


async def appeal_action(db: Db, viewer: Viewer, action_id: int, statement: str) -> AppealRecord:
    """The viewer appeals a decision that hit them.

    Raises DomainError NOT_FOUND (no such decision, or it did not hit the viewer: another's
    decisions are never confirmed), INVALID_INPUT (not appealable; undone already; a bad
    statement), ALREADY_EXISTS (appealed already); nothing changed then. Side effect: the
    appeal row (PENDING)."""
    cleaned = required_text(statement, field="statement", max_length=STATEMENT_MAX)
    action = await case_store.fetch_action(db, action_id)
    if action is None or action.subject_owner_id != viewer.user_id:
        raise DomainError.single(UserErrorCode.NOT_FOUND, "No such decision.", "actionId")
    if action.action not in APPEALABLE:
        raise DomainError.single(
            UserErrorCode.INVALID_INPUT, "This decision cannot be appealed.", "actionId"
        )
    if await case_store.is_undone(db, action.id):
        raise DomainError.single(
            UserErrorCode.INVALID_INPUT, "This decision was undone already.", "actionId"
        )
    appeal = await appeal_store.insert_appeal(
        db, action_id=action.id, appellant_id=viewer.user_id, statement=cleaned
    )
    if appeal is None:
        raise DomainError.single(
            UserErrorCode.ALREADY_EXISTS, "You appealed this decision already.", "actionId"
        )
    return appeal


async def decide_appeal(
    deps: ModerationDeps, viewer: Viewer, appeal_id: int, outcome: AppealOutcome, reason: str
) -> AppealRecord:
    """A moderator other than the decision's rules on the appeal: UPHELD keeps the decision,
    OVERTURNED undoes it. The appellant is told (APPEAL_DECIDED, with `reason`).

    Raises DomainError FORBIDDEN (not a moderator; the moderator who decided), NOT_FOUND (no
    such appeal), INVALID_INPUT (decided already; a bad reason); nothing changed then. Side
    effects: lift_suspension first (an overturned SUSPEND or BAN); in one transaction the
    undo (OVERTURNED), a log entry (RESTORE or APPEAL_UPHELD), the appeal's decision and the
    notification; then its push."""
    cleaned = required_text(reason, field="reason", max_length=REASON_MAX)
    await require_role(deps.db, viewer, Role.MODERATOR)
    found = await appeal_store.fetch_appeals_by_ids(deps.db, [appeal_id])
    if not found:
        raise DomainError.single(UserErrorCode.NOT_FOUND, "No such appeal.", "appealId")
    action = await case_store.fetch_action(deps.db, found[0].action_id)
    assert action is not None
    _check_decidable(found[0], action.actor_id, viewer)
    if outcome is AppealOutcome.OVERTURNED:
        await check_undoable(deps.db, action)
        await lift_if_suspension(deps, action)
    async with transaction(deps.db) as conn:
        appeal = await appeal_store.lock_appeal(conn, appeal_id)
        assert appeal is not None
        _check_decidable(appeal, action.actor_id, viewer)
        text = f"appeal {appeal.id} {outcome.value.lower()}: {cleaned}"
        if outcome is AppealOutcome.OVERTURNED:
            entry = await undo_action(conn, action.id, actor_id=viewer.user_id, reason=text)
        else:
            entry = await record_action(
                conn,
                actor_id=viewer.user_id,
                action=APPEAL_UPHELD,
                subject=Subject(SubjectKind(action.subject_kind), action.subject_id),
                reason=text,
                case_id=action.case_id,
            )
        decided = await appeal_store.decide(
            conn, appeal.id, status=outcome.value, moderator_id=viewer.user_id, reason=cleaned
        )
        notice = await notification_store.insert_moderation_notice(
            conn, recipient_id=appeal.appellant_id, kind="APPEAL_DECIDED", action_id=entry
        )
    await notifications.announce(deps.redis, [(decided.appellant_id, notice)])
    return decided


def _check_decidable(appeal: AppealRecord, decided_by: int | None, viewer: Viewer) -> None:
    if appeal.status != "PENDING":
        raise DomainError.single(
            UserErrorCode.INVALID_INPUT, "This appeal is decided already.", "appealId"
        )
    if decided_by == viewer.user_id:
        raise DomainError.single(
            UserErrorCode.FORBIDDEN,
            "A moderator other than the one who decided rules on the appeal.",
            "appealId",
        )


async def list_pending_appeals(
    db: Db, viewer: Viewer, *, first: int, after: str | None
) -> Page[AppealRecord]:
    """Pending appeals, oldest first (moderators only: FORBIDDEN otherwise). No side effects."""
    await require_role(db, viewer, Role.MODERATOR)
    limit = check_page_size(first)
    rows = await appeal_store.fetch_pending_page(
        db, limit=limit + 1, after=decode_time_id_cursor(after)
    )
    return page_of([(encode_time_id_cursor(a.created_at, a.id), a) for a in rows], limit)
