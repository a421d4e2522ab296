"""The moderation foundation (docs/moderation.md): roles, system cases, the append-only audit log
and `shutter admin grant-role`."""

from __future__ import annotations

import asyncpg
import pytest

from resources import Resources
from services.errors import DomainError, UserErrorCode
from services.moderation_cases import (
    CaseSource,
    Subject,
    SubjectKind,
    open_system_case,
    record_action,
)
from services.roles import Role, require_role, set_role
from tests.factories import make_media, make_user, viewer_of
from tests.shutter_admin import shutter_admin


async def _set_role_directly(conn: asyncpg.Connection, user_id: int, role: str) -> None:
    await conn.execute("UPDATE users SET role = $2 WHERE id = $1", user_id, role)


async def _log(conn: asyncpg.Connection) -> list[tuple[object, ...]]:
    rows = await conn.fetch(
        "SELECT actor_id, action, subject_kind, subject_id, reason, case_id"
        " FROM moderation_actions ORDER BY id"
    )
    return [tuple(row) for row in rows]


async def test_require_role_passes_the_allowed_roles_and_admin_passes_moderator_checks(
    conn: asyncpg.Connection,
) -> None:
    user = await make_user(conn, "plain")
    moderator = await make_user(conn, "mod")
    admin = await make_user(conn, "boss")
    await _set_role_directly(conn, moderator.id, "MODERATOR")
    await _set_role_directly(conn, admin.id, "ADMIN")

    assert await require_role(conn, viewer_of(moderator), Role.MODERATOR) is Role.MODERATOR
    assert await require_role(conn, viewer_of(admin), Role.MODERATOR) is Role.ADMIN
    assert await require_role(conn, viewer_of(admin), Role.ADMIN) is Role.ADMIN
    assert await require_role(conn, viewer_of(user), Role.USER) is Role.USER

    for viewer, allowed, message in (
        (user, Role.MODERATOR, "This needs the moderator role."),
        (moderator, Role.ADMIN, "This needs the admin role."),
        (user, Role.ADMIN, "This needs the admin role."),
    ):
        with pytest.raises(DomainError) as refused:
            await require_role(conn, viewer_of(viewer), allowed)
        assert [(e.code, e.message) for e in refused.value.errors] == [
            (UserErrorCode.FORBIDDEN, message)
        ]


async def test_a_revoked_role_is_refused_on_the_next_check(conn: asyncpg.Connection) -> None:
    moderator = await make_user(conn, "mod")
    await _set_role_directly(conn, moderator.id, "MODERATOR")
    assert await require_role(conn, viewer_of(moderator), Role.MODERATOR) is Role.MODERATOR

    await _set_role_directly(conn, moderator.id, "USER")
    with pytest.raises(DomainError) as refused:
        await require_role(conn, viewer_of(moderator), Role.MODERATOR)
    assert refused.value.errors[0].code is UserErrorCode.FORBIDDEN


async def test_a_deleted_account_is_refused(conn: asyncpg.Connection) -> None:
    gone = await make_user(conn, "gone")
    await _set_role_directly(conn, gone.id, "ADMIN")
    await conn.execute("DELETE FROM users WHERE id = $1", gone.id)
    with pytest.raises(DomainError) as refused:
        await require_role(conn, viewer_of(gone), Role.MODERATOR)
    assert refused.value.errors[0].code is UserErrorCode.FORBIDDEN


async def test_set_role_grants_audits_and_never_demotes_the_last_admin(
    conn: asyncpg.Connection,
) -> None:
    admin = await make_user(conn, "boss")
    user = await make_user(conn, "plain")
    await _set_role_directly(conn, admin.id, "ADMIN")

    assert await set_role(conn, viewer_of(admin), user.id, Role.MODERATOR) is Role.USER
    assert await set_role(conn, viewer_of(admin), user.id, Role.MODERATOR) is Role.MODERATOR
    with pytest.raises(DomainError) as refused:
        await set_role(conn, viewer_of(admin), admin.id, Role.USER)
    assert [(e.code, e.field) for e in refused.value.errors] == [
        (UserErrorCode.INVALID_INPUT, ("role",))
    ]
    with pytest.raises(DomainError) as not_admin:
        await set_role(conn, viewer_of(user), admin.id, Role.USER)
    assert not_admin.value.errors[0].code is UserErrorCode.FORBIDDEN

    assert await conn.fetchval("SELECT role FROM users WHERE id = $1", user.id) == "MODERATOR"
    assert await conn.fetchval("SELECT role FROM users WHERE id = $1", admin.id) == "ADMIN"
    assert await _log(conn) == [
        (admin.id, "SET_ROLE_MODERATOR", "USER", user.id, "role USER -> MODERATOR", None)
    ]


async def test_open_system_case_opens_one_case_per_subject_and_gathers_findings(
    conn: asyncpg.Connection,
) -> None:
    owner = await make_user(conn, "owner")
    media_id = await make_media(conn, owner.id)
    subject = Subject(SubjectKind.MEDIA, media_id)

    first = await open_system_case(
        conn, subject, source=CaseSource.KNOWN_IMAGE, detail="PDQ distance 12 to entry 42"
    )
    again = await open_system_case(
        conn, subject, source=CaseSource.KNOWN_IMAGE, detail="PDQ distance 3 to entry 7"
    )
    classified = await open_system_case(
        conn, subject, source=CaseSource.CLASSIFIER, detail="nudenet: EXPOSED 0.93"
    )
    assert first == again == classified
    case = await conn.fetchrow("SELECT * FROM moderation_cases WHERE id = $1", first)
    assert case is not None
    assert (
        case["subject_kind"],
        case["subject_id"],
        case["subject_owner_id"],
        case["sources"],
        case["status"],
        case["hidden_pending_review"],
    ) == ("MEDIA", media_id, owner.id, ["KNOWN_IMAGE", "CLASSIFIER"], "OPEN", False)
    findings = await conn.fetch(
        "SELECT source, detail FROM moderation_findings WHERE case_id = $1 ORDER BY id", first
    )
    assert [tuple(row) for row in findings] == [
        ("KNOWN_IMAGE", "PDQ distance 12 to entry 42"),
        ("KNOWN_IMAGE", "PDQ distance 3 to entry 7"),
        ("CLASSIFIER", "nudenet: EXPOSED 0.93"),
    ]
    assert await conn.fetchval("SELECT count(*) FROM reports") == 0

    # Once resolved, a new finding opens a new case.
    await conn.execute(
        "UPDATE moderation_cases SET status = 'RESOLVED', resolved_at = now() WHERE id = $1", first
    )
    later = await open_system_case(
        conn, subject, source=CaseSource.CLASSIFIER, detail="nudenet: EXPOSED 0.97"
    )
    assert later != first
    assert await conn.fetchval("SELECT count(*) FROM moderation_cases") == 2


async def test_open_system_case_refuses_reports_and_an_empty_detail(
    conn: asyncpg.Connection,
) -> None:
    owner = await make_user(conn, "owner")
    subject = Subject(SubjectKind.USER, owner.id)
    with pytest.raises(ValueError, match="people's reports"):
        await open_system_case(conn, subject, source=CaseSource.REPORTS, detail="x")
    with pytest.raises(ValueError, match="detail"):
        await open_system_case(conn, subject, source=CaseSource.CLASSIFIER, detail="  ")
    assert await conn.fetchval("SELECT count(*) FROM moderation_cases") == 0


async def test_the_audit_log_is_append_only(conn: asyncpg.Connection) -> None:
    moderator = await make_user(conn, "mod")
    action_id = await record_action(
        conn,
        actor_id=moderator.id,
        action="WARN",
        subject=Subject(SubjectKind.USER, 99),
        reason="spam in comments",
        case_id=None,
    )
    system = await record_action(
        conn,
        actor_id=None,
        action="REMOVE",
        subject=Subject(SubjectKind.MEDIA, 5),
        reason="known image",
        case_id=12,
    )
    assert system == action_id + 1
    for statement in (
        "UPDATE moderation_actions SET reason = 'nothing happened' WHERE id = $1",
        "DELETE FROM moderation_actions WHERE id = $1",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            async with conn.transaction():
                await conn.execute(statement, action_id)
    assert await _log(conn) == [
        (moderator.id, "WARN", "USER", 99, "spam in comments", None),
        (None, "REMOVE", "MEDIA", 5, "known image", 12),
    ]


async def test_the_grant_role_command_grants_the_first_admin(clean: Resources) -> None:
    alice = await make_user(clean.db, "alice")

    granted = shutter_admin(clean, "grant-role", "alice", "ADMIN")
    assert (granted.returncode, granted.stdout) == (0, "alice: USER -> ADMIN\n")
    again = shutter_admin(clean, "grant-role", "alice", "ADMIN")
    assert (again.returncode, again.stdout) == (0, "alice is already ADMIN; nothing changed\n")
    last = shutter_admin(clean, "grant-role", "alice", "USER")
    assert last.returncode == 1
    assert "The last admin cannot be demoted." in last.stderr
    missing = shutter_admin(clean, "grant-role", "nobody", "MODERATOR")
    assert missing.returncode == 1
    assert "No account is named nobody." in missing.stderr

    assert await clean.db.fetchval("SELECT role FROM users WHERE id = $1", alice.id) == "ADMIN"
    log = await clean.db.fetch(
        "SELECT actor_id, action, subject_kind, subject_id, reason FROM moderation_actions"
    )
    assert [tuple(row) for row in log] == [
        (None, "SET_ROLE_ADMIN", "USER", alice.id, "role USER -> ADMIN")
    ]
