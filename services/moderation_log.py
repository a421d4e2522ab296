"""Reading the audit log (written by services.moderation_cases.record_action; nothing edits
it: docs/moderation.md, "The audit log")."""

from __future__ import annotations

from services.auth import Viewer
from services.cursors import decode_time_id_cursor, encode_time_id_cursor
from services.pagination import Page, check_page_size, page_of
from services.roles import Role, require_role
from storage.pg import Db
from storage.pg import moderation_cases as case_store
from storage.pg.moderation_cases import ActionRecord


async def list_audit_log(
    db: Db, viewer: Viewer, *, first: int, after: str | None
) -> Page[ActionRecord]:
    """The audit log, newest first: admins only (DomainError FORBIDDEN otherwise). No side
    effects."""
    await require_role(db, viewer, Role.ADMIN)
    limit = check_page_size(first)
    rows = await case_store.fetch_actions_page(
        db, limit=limit + 1, after=decode_time_id_cursor(after)
    )
    return page_of([(encode_time_id_cursor(a.created_at, a.id), a) for a in rows], limit)
