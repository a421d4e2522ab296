"""Queries on `users.role`: who may moderate (services/roles.py holds the rules)."""

from __future__ import annotations

from collections.abc import Sequence

from storage.pg import Db


async def fetch_role(db: Db, user_id: int) -> str | None:
    """The account's role ('USER', 'MODERATOR' or 'ADMIN'); None when there is no such account."""
    role: str | None = await db.fetchval("SELECT role FROM users WHERE id = $1", user_id)
    return role


async def fetch_staff_among(db: Db, user_ids: Sequence[int]) -> set[int]:
    """Those of `user_ids` who are MODERATOR or ADMIN (one query)."""
    rows = await db.fetch(
        "SELECT id FROM users WHERE id = ANY($1::bigint[]) AND role IN ('MODERATOR', 'ADMIN')",
        user_ids,
    )
    return {row["id"] for row in rows}


async def lock_role(db: Db, user_id: int) -> str | None:
    """The account's role, its row locked (FOR NO KEY UPDATE) for the rest of the transaction;
    None when there is no such account."""
    role: str | None = await db.fetchval(
        "SELECT role FROM users WHERE id = $1 FOR NO KEY UPDATE", user_id
    )
    return role


async def lock_admins(db: Db) -> list[int]:
    """The ids of every ADMIN, their rows locked in id order for the rest of the transaction
    (two concurrent demotions cannot both see another admin left)."""
    rows = await db.fetch("SELECT id FROM users WHERE role = 'ADMIN' ORDER BY id FOR NO KEY UPDATE")
    return [row["id"] for row in rows]


async def update_role(db: Db, user_id: int, role: str) -> None:
    await db.execute("UPDATE users SET role = $2 WHERE id = $1", user_id, role)


async def fetch_user_id_by_username(db: Db, username: str) -> int | None:
    user_id: int | None = await db.fetchval("SELECT id FROM users WHERE username = $1", username)
    return user_id
