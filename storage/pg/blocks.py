"""Queries on `blocks` and `mutes`: the accounts a user shut out or silenced."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from storage.pg import Db, qualified
from storage.pg.users import USER_COLUMNS, UserRecord, user_from_row

ListCursor = tuple[datetime, int]
"""Keyset position in a list of blocks or mutes: (created at, other user id), descending."""

Table = Literal["blocks", "mutes"]
_COLUMNS: dict[Table, tuple[str, str]] = {
    "blocks": ("blocker_id", "blocked_id"),
    "mutes": ("muter_id", "muted_id"),
}
_USER_COLUMNS_OF_U = qualified(USER_COLUMNS, "u")


async def insert(db: Db, table: Table, owner_id: int, other_id: int) -> bool:
    """Record that the owner blocks (mutes) the other; False when already so."""
    owner, other = _COLUMNS[table]
    status = await db.execute(
        f"INSERT INTO {table} ({owner}, {other}) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        owner_id,
        other_id,
    )
    return status == "INSERT 0 1"


async def delete(db: Db, table: Table, owner_id: int, other_id: int) -> bool:
    """Undo the block (mute); False when there was none."""
    owner, other = _COLUMNS[table]
    status = await db.execute(
        f"DELETE FROM {table} WHERE {owner} = $1 AND {other} = $2", owner_id, other_id
    )
    return status == "DELETE 1"


async def exists(db: Db, table: Table, owner_id: int, other_id: int) -> bool:
    owner, other = _COLUMNS[table]
    found = await db.fetchval(
        f"SELECT EXISTS (SELECT 1 FROM {table} WHERE {owner} = $1 AND {other} = $2)",
        owner_id,
        other_id,
    )
    return bool(found)


async def fetch_page(
    db: Db, table: Table, owner_id: int, *, limit: int, after: ListCursor | None
) -> list[tuple[ListCursor, UserRecord]]:
    """Up to `limit` accounts the owner blocked (muted), most recent first, after `after`."""
    owner, other = _COLUMNS[table]
    rows = await db.fetch(
        f"""
        SELECT t.created_at AS listed_at, {_USER_COLUMNS_OF_U}
          FROM {table} t JOIN users u ON u.id = t.{other}
         WHERE t.{owner} = $1
           AND ($2::timestamptz IS NULL OR (t.created_at, t.{other}) < ($2, $3))
         ORDER BY t.created_at DESC, t.{other} DESC
         LIMIT $4
        """,
        owner_id,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [((row["listed_at"], row["id"]), user_from_row(row)) for row in rows]


async def count(db: Db, table: Table, owner_id: int) -> int:
    owner, _ = _COLUMNS[table]
    value = await db.fetchval(f"SELECT count(*) FROM {table} WHERE {owner} = $1", owner_id)
    assert isinstance(value, int)
    return value


async def delete_requests_between(db: Db, a: int, b: int) -> int:
    """Delete the pending follow requests between a and b, either way; how many there were."""
    status = await db.execute(
        """
        DELETE FROM follow_requests
         WHERE (requester_id = $1 AND target_id = $2) OR (requester_id = $2 AND target_id = $1)
        """,
        a,
        b,
    )
    return int(status.split()[-1])
