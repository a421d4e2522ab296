"""Queries and mutations of moderation (docs/moderation.md): thin mappings onto
services.reports, roles, moderation_queue, moderation_actions, appeals and moderation_log.

Query fields for staff answer null with a GraphQL error FORBIDDEN to everyone else (nullable,
so that the refusal nulls only that field, whatever else the document asks); mutations
answer `userErrors` (FORBIDDEN, NOT_FOUND, ...) and change nothing then."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.types import Info

from resolvers.context import Context
from schema.global_ids import decode_global_id, decode_id_of_type
from schema.moderation import (
    SUBJECT_TYPE_NAMES,
    AppealModerationActionInput,
    AppealModerationActionPayload,
    ClaimCaseInput,
    ClaimCasePayload,
    DecideAppealInput,
    DecideAppealPayload,
    ModerationAction,
    ModerationActionConnection,
    ModerationAppeal,
    ModerationAppealConnection,
    ModerationCase,
    ModerationCaseConnection,
    ReportContentInput,
    ReportContentPayload,
    ResolveCaseInput,
    ResolveCasePayload,
    RestoreModerationActionInput,
    RestoreModerationActionPayload,
    SetUserRoleInput,
    SetUserRolePayload,
)
from schema.pagination import Connection
from schema.users import User
from services import appeals, moderation_actions, moderation_log, moderation_queue, reports, roles
from services.errors import DomainError, UserErrorCode
from services.moderation_cases import Subject, SubjectKind

_KIND_OF_TYPE = {type_name: kind for kind, type_name in SUBJECT_TYPE_NAMES.items()}


def _forbidden(error: DomainError) -> GraphQLError:
    return GraphQLError(error.errors[0].message, extensions={"code": "FORBIDDEN"})


def _record_id(global_id: str, type_name: str, field: str) -> int:
    record_id = decode_id_of_type(global_id, type_name)
    if record_id is None:
        raise DomainError.single(UserErrorCode.NOT_FOUND, "No such object.", field)
    return record_id


def _subject(global_id: str) -> Subject:
    decoded = decode_global_id(global_id)
    if decoded is None or decoded[0] not in _KIND_OF_TYPE:
        raise DomainError.single(UserErrorCode.NOT_FOUND, "Nothing to report here.", "subject")
    return Subject(SubjectKind(_KIND_OF_TYPE[decoded[0]]), decoded[1])


@strawberry.type
class ModerationQueries:
    @strawberry.field(
        description="Moderators: the cases under review, highest priority first "
        "(docs/moderation.md). FORBIDDEN for everyone else."
    )
    async def moderation_queue(
        self, info: Info[Context, None], first: int = 20, after: str | None = None
    ) -> ModerationCaseConnection | None:
        viewer = info.context.require_viewer()
        try:
            page = await moderation_queue.list_queue(
                info.context.db, viewer, first=first, after=after
            )
        except DomainError as error:
            raise _forbidden(error) from None
        return Connection.of(page, ModerationCase.from_view, after=after)

    @strawberry.field(description="Moderators: one case, open or resolved; null when none.")
    async def moderation_case(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> ModerationCase | None:
        viewer = info.context.require_viewer()
        case_id = decode_id_of_type(id, "ModerationCase")
        try:
            view = await moderation_queue.fetch_case(info.context.db, viewer, case_id)
        except DomainError as error:
            raise _forbidden(error) from None
        return ModerationCase.from_view(view) if view else None

    @strawberry.field(description="Moderators: appeals waiting for a decision, oldest first.")
    async def moderation_appeals(
        self, info: Info[Context, None], first: int = 20, after: str | None = None
    ) -> ModerationAppealConnection | None:
        viewer = info.context.require_viewer()
        try:
            page = await appeals.list_pending_appeals(
                info.context.db, viewer, first=first, after=after
            )
        except DomainError as error:
            raise _forbidden(error) from None
        return Connection.of(page, ModerationAppeal.from_record, after=after)

    @strawberry.field(
        description="Admins: the audit log of every moderation action, newest first. Nothing "
        "can edit it."
    )
    async def moderation_audit_log(
        self, info: Info[Context, None], first: int = 20, after: str | None = None
    ) -> ModerationActionConnection | None:
        viewer = info.context.require_viewer()
        try:
            page = await moderation_log.list_audit_log(
                info.context.db, viewer, first=first, after=after
            )
        except DomainError as error:
            raise _forbidden(error) from None
        return Connection.of(page, ModerationAction.from_record, after=after)


@strawberry.type
class ModerationMutations:
    @strawberry.mutation(
        description="Report a post, comment, media item or account the viewer can see. "
        "Reporting it again while it is under review changes nothing; the reported side is "
        "never told who reported."
    )
    async def report_content(
        self, info: Info[Context, None], input: ReportContentInput
    ) -> ReportContentPayload:
        viewer = info.context.require_viewer()
        try:
            await reports.report_content(
                info.context.resources.moderation,
                viewer,
                _subject(input.subject),
                input.reason,
                input.note,
            )
        except DomainError as error:
            return ReportContentPayload.refused(error, input)
        return ReportContentPayload(ok=True, client_mutation_id=input.client_mutation_id)

    @strawberry.mutation(
        description="Admins: give an account a role (grant or revoke MODERATOR, ADMIN). The "
        "last admin cannot be demoted."
    )
    async def set_user_role(
        self, info: Info[Context, None], input: SetUserRoleInput
    ) -> SetUserRolePayload:
        viewer = info.context.require_viewer()
        try:
            user_id = _record_id(input.user_id, "User", "userId")
            await roles.set_role(info.context.db, viewer, user_id, input.role)
        except DomainError as error:
            return SetUserRolePayload.refused(error, input)
        record = await info.context.loaders.user_by_id.load(user_id)
        return SetUserRolePayload(
            user=User.from_record(record) if record else None,
            role=input.role,
            client_mutation_id=input.client_mutation_id,
        )

    @strawberry.mutation(description="Moderators: take a case (it is then yours to resolve).")
    async def claim_case(
        self, info: Info[Context, None], input: ClaimCaseInput
    ) -> ClaimCasePayload:
        viewer = info.context.require_viewer()
        try:
            case_id = _record_id(input.case_id, "ModerationCase", "caseId")
            view = await moderation_queue.claim_case(info.context.db, viewer, case_id)
        except DomainError as error:
            return ClaimCasePayload.refused(error, input)
        return ClaimCasePayload(
            case=ModerationCase.from_view(view), client_mutation_id=input.client_mutation_id
        )

    @strawberry.mutation(
        description="Moderators: resolve a claimed case with a decision (admins: any open "
        "case). Written to the audit log; REMOVE and WARN tell the account why."
    )
    async def resolve_case(
        self, info: Info[Context, None], input: ResolveCaseInput
    ) -> ResolveCasePayload:
        viewer = info.context.require_viewer()
        deps = info.context.resources.moderation
        try:
            case_id = _record_id(input.case_id, "ModerationCase", "caseId")
            action = await moderation_actions.resolve_case(
                deps,
                viewer,
                case_id,
                input.action,
                input.reason,
                suspend_until=input.suspend_until,
            )
        except DomainError as error:
            return ResolveCasePayload.refused(error, input)
        view = await moderation_queue.fetch_case(deps.db, viewer, case_id)
        return ResolveCasePayload(
            case=ModerationCase.from_view(view) if view else None,
            action=ModerationAction.from_record(action),
            client_mutation_id=input.client_mutation_id,
        )

    @strawberry.mutation(
        description="Moderators: undo a decision (RESTORE in the audit log), once per decision."
    )
    async def restore_moderation_action(
        self, info: Info[Context, None], input: RestoreModerationActionInput
    ) -> RestoreModerationActionPayload:
        viewer = info.context.require_viewer()
        try:
            action_id = _record_id(input.action_id, "ModerationAction", "actionId")
            restored = await moderation_actions.restore_action(
                info.context.resources.moderation, viewer, action_id, input.reason
            )
        except DomainError as error:
            return RestoreModerationActionPayload.refused(error, input)
        return RestoreModerationActionPayload(
            action=ModerationAction.from_record(restored),
            client_mutation_id=input.client_mutation_id,
        )

    @strawberry.mutation(
        description="Appeal a decision that hit the viewer (removed content, a warning, a "
        "suspension, media marked sensitive), once per decision."
    )
    async def appeal_moderation_action(
        self, info: Info[Context, None], input: AppealModerationActionInput
    ) -> AppealModerationActionPayload:
        viewer = info.context.require_viewer()
        try:
            action_id = _record_id(input.action_id, "ModerationAction", "actionId")
            appeal = await appeals.appeal_action(
                info.context.db, viewer, action_id, input.statement
            )
        except DomainError as error:
            return AppealModerationActionPayload.refused(error, input)
        return AppealModerationActionPayload(
            appeal=ModerationAppeal.from_record(appeal),
            client_mutation_id=input.client_mutation_id,
        )

    @strawberry.mutation(
        description="Moderators other than the one who decided: rule on an appeal (OVERTURNED "
        "undoes the decision). The appellant is told."
    )
    async def decide_appeal(
        self, info: Info[Context, None], input: DecideAppealInput
    ) -> DecideAppealPayload:
        viewer = info.context.require_viewer()
        try:
            appeal_id = _record_id(input.appeal_id, "ModerationAppeal", "appealId")
            decided = await appeals.decide_appeal(
                info.context.resources.moderation,
                viewer,
                appeal_id,
                input.outcome,
                input.reason,
            )
        except DomainError as error:
            return DecideAppealPayload.refused(error, input)
        return DecideAppealPayload(
            appeal=ModerationAppeal.from_record(decided),
            client_mutation_id=input.client_mutation_id,
        )
