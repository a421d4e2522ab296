"""Types, inputs and payloads of moderation: reports, roles, the queue, decisions, appeals and
the audit log (docs/moderation.md). Every object here reaches only the people allowed to see
it: cases, reports and the log come out of moderator- or admin-only fields and mutations, and
an appellant sees their own appeal without the moderator's name."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry
from strawberry.types import Info

from resolvers.context import Context
from schema.errors import MutationInput, Payload
from schema.global_ids import encode_global_id
from schema.media import Media
from schema.pagination import Connection
from schema.users import User
from services import moderation_queue
from services.appeals import AppealOutcome
from services.moderation_actions import Decision
from services.moderation_cases import SubjectKind
from services.moderation_queue import CaseView
from services.records import ActionRecord, AppealRecord, FindingRecord, ReportRecord
from services.reports import ReportReason
from services.roles import Role

strawberry.enum(ReportReason, name="ReportReason", description="Why content is reported.")
strawberry.enum(Role, name="Role", description="What an account may do in moderation.")
strawberry.enum(Decision, name="ModerationDecision", description="How a moderator resolves a case.")
strawberry.enum(AppealOutcome, name="AppealOutcome")
strawberry.enum(
    SubjectKind,
    name="ModerationSubjectKind",
    description="What a report, case or decision is about.",
)

SUBJECT_TYPE_NAMES = {"POST": "Post", "COMMENT": "Comment", "MEDIA": "Media", "USER": "User"}
"""The GraphQL type of each subject kind (its global id's type)."""


@strawberry.enum(description="Where a case stands.")
class ModerationCaseStatus(enum.Enum):
    OPEN = "OPEN"
    CLAIMED = "CLAIMED"
    RESOLVED = "RESOLVED"


@strawberry.enum(description="Where a case's findings came from.")
class ModerationCaseSource(enum.Enum):
    REPORTS = "REPORTS"
    KNOWN_IMAGE = "KNOWN_IMAGE"
    CLASSIFIER = "CLASSIFIER"


@strawberry.enum(description="Where an appeal stands.")
class AppealStatus(enum.Enum):
    PENDING = "PENDING"
    UPHELD = "UPHELD"
    OVERTURNED = "OVERTURNED"


def subject_global_id(kind: str, subject_id: int) -> strawberry.ID:
    return encode_global_id(SUBJECT_TYPE_NAMES[kind], subject_id)


async def _user_or_none(info: Info[Context, None], user_id: int | None) -> User | None:
    if user_id is None:
        return None
    record = await info.context.loaders.user_by_id.load(user_id)
    return User.from_record(record) if record else None


async def _viewer_is_moderator(info: Info[Context, None]) -> bool:
    """The viewer is a moderator or an admin (read once per operation: a loader)."""
    viewer = info.context.viewer
    if viewer is None:
        return False
    return await info.context.loaders.is_staff_by_user_id.load(viewer.user_id)


@strawberry.type(description="One account's report in a case (moderators only).")
class ModerationReport:
    reason: ReportReason
    note: str | None
    created_at: datetime
    record: strawberry.Private[ReportRecord]

    @classmethod
    def from_record(cls, record: ReportRecord) -> ModerationReport:
        return cls(
            reason=ReportReason(record.reason),
            note=record.note,
            created_at=record.created_at,
            record=record,
        )

    @strawberry.field(description="Who reported: shown to moderators, never to the reported.")
    async def reporter(self, info: Info[Context, None]) -> User | None:
        return await _user_or_none(info, self.record.reporter_id)


@strawberry.type(description="What the media pipeline found (known-bad image, classifier).")
class ModerationFinding:
    source: ModerationCaseSource
    detail: str
    created_at: datetime

    @classmethod
    def from_record(cls, record: FindingRecord) -> ModerationFinding:
        return cls(
            source=ModerationCaseSource(record.source),
            detail=record.detail,
            created_at=record.created_at,
        )


@strawberry.type(description="How many reports of one reason a case holds.")
class ReportReasonCount:
    reason: ReportReason
    count: int


@strawberry.type(description="Everything known about one reported or flagged subject.")
class ModerationCase:
    status: ModerationCaseStatus
    subject_kind: SubjectKind
    sources: list[ModerationCaseSource]
    hidden_pending_review: bool = strawberry.field(
        description="Enough distinct accounts reported it: hidden from everyone until a "
        "decision (MODERATION_HIDE_AFTER_REPORTS)."
    )
    priority: float | None = strawberry.field(
        description="severity × distinctReporters × reach while under review; null once "
        "resolved (docs/moderation.md)."
    )
    severity: int | None
    reach: float | None
    opened_at: datetime
    claimed_at: datetime | None
    resolution: Decision | None
    resolution_reason: str | None
    resolved_at: datetime | None
    reports: list[ModerationReport] = strawberry.field(
        description="The latest 50 reports, oldest first, with their notes and reporters."
    )
    findings: list[ModerationFinding] = strawberry.field(
        description="The latest 20 findings of the media pipeline, oldest first."
    )
    view: strawberry.Private[CaseView]

    @classmethod
    def from_view(cls, view: CaseView) -> ModerationCase:
        case = view.case
        return cls(
            status=ModerationCaseStatus(case.status),
            subject_kind=SubjectKind(case.subject_kind),
            sources=[ModerationCaseSource(source) for source in case.sources],
            hidden_pending_review=case.hidden_pending_review,
            priority=view.priority,
            severity=view.severity,
            reach=view.reach,
            opened_at=case.opened_at,
            claimed_at=case.claimed_at,
            resolution=Decision(case.resolution) if case.resolution else None,
            resolution_reason=case.resolution_reason,
            resolved_at=case.resolved_at,
            reports=[ModerationReport.from_record(r) for r in view.reports],
            findings=[ModerationFinding.from_record(f) for f in view.findings],
            view=view,
        )

    @strawberry.field
    def id(self) -> strawberry.ID:
        return encode_global_id("ModerationCase", self.view.case.id)

    @strawberry.field(description="The global id of the post, comment, media item or account.")
    def subject_id(self) -> strawberry.ID:
        case = self.view.case
        return subject_global_id(case.subject_kind, case.subject_id)

    @strawberry.field(description="How many distinct accounts reported it (one report each).")
    def distinct_reporters(self) -> int:
        return sum(n for _, n in self.view.reason_counts)

    @strawberry.field(description="The reports per reason, most frequent first.")
    def reasons(self) -> list[ReportReasonCount]:
        return [
            ReportReasonCount(reason=ReportReason(reason), count=n)
            for reason, n in self.view.reason_counts
        ]

    @strawberry.field(description="The account the subject belongs to (null when erased).")
    async def subject_owner(self, info: Info[Context, None]) -> User | None:
        return await _user_or_none(info, self.view.case.subject_owner_id)

    @strawberry.field(description="The subject owner's strikes in force (WARN decisions).")
    async def subject_owner_strike_count(self, info: Info[Context, None]) -> int | None:
        owner = self.view.case.subject_owner_id
        if owner is None:
            return None
        return await moderation_queue.strike_count(info.context.db, owner)

    @strawberry.field(
        description="What the subject says (caption, comment, username and bio), whatever "
        "hides it from others."
    )
    async def subject_text(self, info: Info[Context, None]) -> str | None:
        return await moderation_queue.subject_text(info.context.db, self.view.case)

    @strawberry.field(description="The media the subject shows, whatever hides it from others.")
    async def subject_media(self, info: Info[Context, None]) -> list[Media]:
        found = await moderation_queue.subject_media(info.context.db, self.view.case)
        return [Media.from_record(item, info) for item in found]

    @strawberry.field
    async def claimed_by(self, info: Info[Context, None]) -> User | None:
        return await _user_or_none(info, self.view.case.claimed_by)


@strawberry.type(description="One entry of the audit log: a moderation action.")
class ModerationAction:
    action: str = strawberry.field(
        description="DISMISS, REMOVE, MARK_SENSITIVE, WARN, SUSPEND, BAN, RESTORE, "
        "APPEAL_UPHELD, SET_ROLE_<ROLE>, or what the media pipeline records."
    )
    subject_kind: SubjectKind
    reason: str
    until: datetime | None = strawberry.field(description="The end of a SUSPEND.")
    created_at: datetime
    record: strawberry.Private[ActionRecord]

    @classmethod
    def from_record(cls, record: ActionRecord) -> ModerationAction:
        return cls(
            action=record.action,
            subject_kind=SubjectKind(record.subject_kind),
            reason=record.reason,
            until=record.until,
            created_at=record.created_at,
            record=record,
        )

    @strawberry.field
    def id(self) -> strawberry.ID:
        return encode_global_id("ModerationAction", self.record.id)

    @strawberry.field
    def subject_id(self) -> strawberry.ID:
        return subject_global_id(self.record.subject_kind, self.record.subject_id)

    @strawberry.field(description="The case it resolved or concerns, if any.")
    def case_id(self) -> strawberry.ID | None:
        case_id = self.record.case_id
        return encode_global_id("ModerationCase", case_id) if case_id else None

    @strawberry.field(description="The entry this one undoes (RESTORE).")
    def reverses_id(self) -> strawberry.ID | None:
        reverses = self.record.reverses_id
        return encode_global_id("ModerationAction", reverses) if reverses else None

    @strawberry.field(
        description="Who acted: null for the system, and for anyone but moderators (the "
        "account an action hit is never told which moderator took it)."
    )
    async def actor(self, info: Info[Context, None]) -> User | None:
        if self.record.actor_id is None or not await _viewer_is_moderator(info):
            return None
        return await _user_or_none(info, self.record.actor_id)


@strawberry.type(description="A decision of moderation as told to the account it hit.")
class ModerationNotice:
    action: str = strawberry.field(
        description="REMOVE or WARN; for APPEAL_DECIDED, RESTORE (overturned) or APPEAL_UPHELD."
    )
    reason: str
    subject_kind: SubjectKind
    action_id: strawberry.ID = strawberry.field(
        description="The decision's id: what appealModerationAction takes."
    )

    @classmethod
    def from_record(cls, record: ActionRecord) -> ModerationNotice:
        return cls(
            action=record.action,
            reason=record.reason,
            subject_kind=SubjectKind(record.subject_kind),
            action_id=encode_global_id("ModerationAction", record.id),
        )


@strawberry.type(description="An appeal of a decision by the account it hit.")
class ModerationAppeal:
    statement: str
    status: AppealStatus
    decision_reason: str | None
    created_at: datetime
    decided_at: datetime | None
    record: strawberry.Private[AppealRecord]

    @classmethod
    def from_record(cls, record: AppealRecord) -> ModerationAppeal:
        return cls(
            statement=record.statement,
            status=AppealStatus(record.status),
            decision_reason=record.decision_reason,
            created_at=record.created_at,
            decided_at=record.decided_at,
            record=record,
        )

    @strawberry.field
    def id(self) -> strawberry.ID:
        return encode_global_id("ModerationAppeal", self.record.id)

    @strawberry.field(description="The decision appealed.")
    def action_id(self) -> strawberry.ID:
        return encode_global_id("ModerationAction", self.record.action_id)

    @strawberry.field(description="The decision appealed, for moderators (null for others).")
    async def action(self, info: Info[Context, None]) -> ModerationAction | None:
        if not await _viewer_is_moderator(info):
            return None
        found = await moderation_queue.fetch_actions(info.context.db, [self.record.action_id])
        return ModerationAction.from_record(found[0]) if found else None

    @strawberry.field(description="Who appealed (moderators see it; it is the viewer otherwise).")
    async def appellant(self, info: Info[Context, None]) -> User | None:
        return await _user_or_none(info, self.record.appellant_id)


ModerationCaseConnection = Connection[ModerationCase]
ModerationActionConnection = Connection[ModerationAction]
ModerationAppealConnection = Connection[ModerationAppeal]


@strawberry.input
class ReportContentInput(MutationInput):
    subject: strawberry.ID = strawberry.field(
        description="The global id of a post, comment, media item or account."
    )
    reason: ReportReason
    note: str | None = strawberry.field(default=None, description="At most 1000 characters.")


@strawberry.type
class ReportContentPayload(Payload):
    ok: bool = strawberry.field(
        default=False,
        description="The report is filed (also when the viewer had reported it already).",
    )


@strawberry.input
class SetUserRoleInput(MutationInput):
    user_id: strawberry.ID
    role: Role


@strawberry.type
class SetUserRolePayload(Payload):
    user: User | None = None
    role: Role | None = None


@strawberry.input
class ClaimCaseInput(MutationInput):
    case_id: strawberry.ID


@strawberry.type
class ClaimCasePayload(Payload):
    case: ModerationCase | None = None


@strawberry.input
class ResolveCaseInput(MutationInput):
    case_id: strawberry.ID
    action: Decision
    reason: str = strawberry.field(
        description="Why (at most 2000 characters): written to the audit log, and told to the "
        "account for REMOVE and WARN."
    )
    suspend_until: datetime | None = strawberry.field(
        default=None, description="SUSPEND only: when the suspension ends."
    )


@strawberry.type
class ResolveCasePayload(Payload):
    case: ModerationCase | None = None
    action: ModerationAction | None = None


@strawberry.input
class RestoreModerationActionInput(MutationInput):
    action_id: strawberry.ID
    reason: str


@strawberry.type
class RestoreModerationActionPayload(Payload):
    action: ModerationAction | None = strawberry.field(
        default=None, description="The RESTORE entry of the audit log."
    )


@strawberry.input
class AppealModerationActionInput(MutationInput):
    action_id: strawberry.ID
    statement: str = strawberry.field(description="At most 2000 characters.")


@strawberry.type
class AppealModerationActionPayload(Payload):
    appeal: ModerationAppeal | None = None


@strawberry.input
class DecideAppealInput(MutationInput):
    appeal_id: strawberry.ID
    outcome: AppealOutcome
    reason: str


@strawberry.type
class DecideAppealPayload(Payload):
    appeal: ModerationAppeal | None = None
