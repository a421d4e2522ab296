"""Roles: who may moderate (docs/moderation.md).

Every account is a USER, a MODERATOR or an ADMIN. Moderators work the queue and act; admins do
what moderators do, read the audit log and grant or revoke roles. The role is read from
PostgreSQL on every check (not carried in the access token), so that a revoked role takes
effect on the next request. The first admin is granted by `shutter admin grant-role`.
"""

from __future__ import annotations

import enum

from services import moderation_cases
from services.auth import Viewer
from services.errors import DomainError, UserErrorCode
from storage.pg import Db, transaction
from storage.pg import roles as role_store


class Role(enum.Enum):
    USER = "USER"
    MODERATOR = "MODERATOR"
    ADMIN = "ADMIN"


async def require_role(db: Db, viewer: Viewer, *allowed: Role) -> Role:
    """The viewer's role when it is one of `allowed` (an ADMIN passes any MODERATOR check).

    Reads the role from PostgreSQL (one primary-key query). Raises DomainError FORBIDDEN when
    the viewer's role is not allowed or the account no longer exists. No side effects.
    """
    stored = await role_store.fetch_role(db, viewer.user_id)
    role = Role(stored) if stored is not None else None
    if role is not None and (role in allowed or (role is Role.ADMIN and Role.MODERATOR in allowed)):
        return role
    needed = " or ".join(r.value.lower() for r in allowed) or "a staff"
    raise DomainError.single(UserErrorCode.FORBIDDEN, f"This needs the {needed} role.")


async def staff_among(db: Db, user_ids: list[int]) -> set[int]:
    """Those of `user_ids` who pass a MODERATOR check now (moderators and admins): for fields
    that show more to staff (one query for any number of ids). No side effects."""
    return await role_store.fetch_staff_among(db, user_ids)


async def set_role(db: Db, viewer: Viewer, user_id: int, role: Role) -> Role:
    """An admin gives the account `role`; the account's role before. Setting the role it has
    changes nothing.

    Raises DomainError FORBIDDEN (the viewer is not an admin), NOT_FOUND (no such account),
    INVALID_INPUT (it would demote the last admin); nothing changed then. Side effects: the
    account's role, and an audit-log entry (SET_ROLE) when it changed.
    """
    async with transaction(db) as conn:
        await require_role(conn, viewer, Role.ADMIN)
        return await _assign(conn, user_id, role, actor_id=viewer.user_id)


async def grant_role_by_username(db: Db, username: str, role: Role) -> Role:
    """The operator's grant (`shutter admin grant-role`): the account named `username` gets
    `role`; returns its role before. Raises DomainError NOT_FOUND (no such account),
    INVALID_INPUT (it would demote the last admin); nothing changed then. Side effects: the
    role and an audit-log entry (SET_ROLE, actor: the system) when it changed."""
    async with transaction(db) as conn:
        user_id = await role_store.fetch_user_id_by_username(conn, username)
        if user_id is None:
            raise DomainError.single(UserErrorCode.NOT_FOUND, f"No account is named {username}.")
        return await _assign(conn, user_id, role, actor_id=None)


async def _assign(conn: Db, user_id: int, role: Role, *, actor_id: int | None) -> Role:
    """Inside the caller's transaction: lock the admins (when an admin may lose the role), then
    the account, check, write."""
    admins = await role_store.lock_admins(conn)
    stored = await role_store.lock_role(conn, user_id)
    if stored is None:
        raise DomainError.single(UserErrorCode.NOT_FOUND, "No such account.", "userId")
    before = Role(stored)
    if before is role:
        return before
    if before is Role.ADMIN and admins == [user_id]:
        raise DomainError.single(
            UserErrorCode.INVALID_INPUT, "The last admin cannot be demoted.", "role"
        )
    await role_store.update_role(conn, user_id, role.value)
    await moderation_cases.record_action(
        conn,
        actor_id=actor_id,
        action=f"SET_ROLE_{role.value}",
        subject=moderation_cases.Subject(moderation_cases.SubjectKind.USER, user_id),
        reason=f"role {before.value} -> {role.value}",
        case_id=None,
    )
    return before
