"""Queries on `users`: accounts, profiles and their denormalised counters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import asyncpg

from storage.pg import Db
from storage.pg.visibility import not_blocked_sql


class UserRecord(NamedTuple):
    """A user's public profile and counters."""

    id: int
    username: str
    full_name: str | None
    bio: str | None
    follower_count: int
    following_count: int
    post_count: int
    created_at: datetime
    is_private: bool
    """Only approved followers see the account's posts, followers and following."""


@dataclass(frozen=True, slots=True)
class Credentials:
    user_id: int
    password_hash: str


USER_COLUMNS = ", ".join(UserRecord._fields)
"""The columns of a UserRecord, in its order (post views read them by position)."""


def user_from_row(row: asyncpg.Record, prefix: str = "") -> UserRecord:
    """The user in `row`, whose columns may carry a prefix (when joined to another table)."""
    return UserRecord(
        id=row[prefix + "id"],
        username=row[prefix + "username"],
        full_name=row[prefix + "full_name"],
        bio=row[prefix + "bio"],
        follower_count=row[prefix + "follower_count"],
        following_count=row[prefix + "following_count"],
        post_count=row[prefix + "post_count"],
        created_at=row[prefix + "created_at"],
        is_private=row[prefix + "is_private"],
    )


async def insert_user(
    db: Db, *, username: str, email: str, password_hash: str, full_name: str | None
) -> UserRecord | None:
    """Insert a user; None when the username or the email is already taken (nothing written)."""
    row = await db.fetchrow(
        f"""
        INSERT INTO users (username, email, password_hash, full_name)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT DO NOTHING
        RETURNING {USER_COLUMNS}
        """,
        username,
        email,
        password_hash,
        full_name,
    )
    return user_from_row(row) if row else None


async def fetch_taken_identifiers(db: Db, *, username: str, email: str) -> tuple[bool, bool]:
    """(username taken, email taken), in one query."""
    row = await db.fetchrow(
        """
        SELECT EXISTS (SELECT 1 FROM users WHERE username = $1) AS username_taken,
               EXISTS (SELECT 1 FROM users WHERE email = $2) AS email_taken
        """,
        username,
        email,
    )
    assert row is not None
    return row["username_taken"], row["email_taken"]


async def fetch_users_by_ids(db: Db, ids: Sequence[int]) -> list[UserRecord]:
    """The users among `ids` that exist, in no particular order."""
    rows = await db.fetch(f"SELECT {USER_COLUMNS} FROM users WHERE id = ANY($1::bigint[])", ids)
    return [user_from_row(row) for row in rows]


async def fetch_visible_users_by_ids(
    db: Db, ids: Sequence[int], viewer_id: int | None
) -> list[UserRecord]:
    """The users among `ids` that exist and that the viewer may see (no block either way:
    storage.pg.visibility), in no particular order."""
    rows = await db.fetch(
        f"SELECT {USER_COLUMNS} FROM users u"
        f" WHERE u.id = ANY($1::bigint[]) AND {not_blocked_sql('u.id', '$2')}",
        ids,
        viewer_id,
    )
    return [user_from_row(row) for row in rows]


async def fetch_user_by_username(db: Db, username: str) -> UserRecord | None:
    row = await db.fetchrow(f"SELECT {USER_COLUMNS} FROM users WHERE username = $1", username)
    return user_from_row(row) if row else None


async def fetch_credentials(db: Db, *, username: str, email: str) -> Credentials | None:
    """The password hash of the account with this username or this email."""
    row = await db.fetchrow(
        "SELECT id, password_hash FROM users WHERE username = $1 OR email = $2 LIMIT 1",
        username,
        email,
    )
    return Credentials(user_id=row["id"], password_hash=row["password_hash"]) if row else None


async def update_password_hash(db: Db, user_id: int, password_hash: str) -> None:
    """Replace the stored hash (after a parameter upgrade); side effect: one UPDATE."""
    await db.execute("UPDATE users SET password_hash = $2 WHERE id = $1", user_id, password_hash)


async def update_profile(
    db: Db,
    user_id: int,
    *,
    set_full_name: bool,
    full_name: str | None,
    set_bio: bool,
    bio: str | None,
    is_private: bool | None = None,
) -> UserRecord | None:
    """Update the chosen profile fields (a `set_x` flag false keeps x; `is_private` None
    keeps it); None if no such user."""
    row = await db.fetchrow(
        f"""
        UPDATE users
           SET full_name = CASE WHEN $2 THEN $3 ELSE full_name END,
               bio = CASE WHEN $4 THEN $5 ELSE bio END,
               is_private = coalesce($6, is_private),
               updated_at = now()
         WHERE id = $1
        RETURNING {USER_COLUMNS}
        """,
        user_id,
        set_full_name,
        full_name,
        set_bio,
        bio,
        is_private,
    )
    return user_from_row(row) if row else None


async def fetch_user_ids_by_usernames(db: Db, usernames: Sequence[str]) -> dict[str, int]:
    """{username: id} for the usernames that exist (one query)."""
    rows = await db.fetch(
        "SELECT id, username FROM users WHERE username = ANY($1::text[])", usernames
    )
    return {row["username"]: row["id"] for row in rows}


async def lock_users(db: Db, user_ids: Sequence[int]) -> set[int]:
    """Lock these users' rows (FOR NO KEY UPDATE, in id order, as storage.pg.follows.lock_pair
    does for two) for the rest of the transaction; the ids that exist."""
    rows = await db.fetch(
        "SELECT id FROM users WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE",
        list(user_ids),
    )
    return {row["id"] for row in rows}
