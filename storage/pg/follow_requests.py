"""Queries on `follow_requests`: pending requests to follow private accounts."""

from __future__ import annotations

from datetime import datetime

from storage.pg import Db, qualified
from storage.pg.users import USER_COLUMNS, UserRecord, user_from_row

RequestCursor = tuple[datetime, int]
"""Keyset position in a list of requests: (requested at, requester id), both descending."""

_USER_COLUMNS_OF_U = qualified(USER_COLUMNS, "u")


async def insert_request(db: Db, requester_id: int, target_id: int) -> bool:
    """Record a pending request; False (nothing written) when one is already pending."""
    status = await db.execute(
        """
        INSERT INTO follow_requests (requester_id, target_id) VALUES ($1, $2)
        ON CONFLICT DO NOTHING
        """,
        requester_id,
        target_id,
    )
    return status == "INSERT 0 1"


async def delete_request(db: Db, requester_id: int, target_id: int) -> bool:
    """Remove the pending request; False when there was none."""
    status = await db.execute(
        "DELETE FROM follow_requests WHERE requester_id = $1 AND target_id = $2",
        requester_id,
        target_id,
    )
    return status == "DELETE 1"


async def request_exists(db: Db, requester_id: int, target_id: int) -> bool:
    found = await db.fetchval(
        "SELECT EXISTS (SELECT 1 FROM follow_requests WHERE requester_id = $1 AND target_id = $2)",
        requester_id,
        target_id,
    )
    return bool(found)


async def fetch_oldest_requesters(db: Db, target_id: int, *, limit: int) -> list[int]:
    """Up to `limit` requester ids of the target's pending requests, oldest first."""
    rows = await db.fetch(
        """
        SELECT requester_id FROM follow_requests WHERE target_id = $1
         ORDER BY created_at, requester_id LIMIT $2
        """,
        target_id,
        limit,
    )
    return [row["requester_id"] for row in rows]


async def fetch_requests_page(
    db: Db, target_id: int, *, limit: int, after: RequestCursor | None
) -> list[tuple[RequestCursor, UserRecord]]:
    """Up to `limit` pending requesters of `target_id`, newest first, after the keyset `after`."""
    rows = await db.fetch(
        f"""
        SELECT r.created_at AS requested_at, {_USER_COLUMNS_OF_U}
          FROM follow_requests r JOIN users u ON u.id = r.requester_id
         WHERE r.target_id = $1
           AND ($2::timestamptz IS NULL OR (r.created_at, r.requester_id) < ($2, $3))
         ORDER BY r.created_at DESC, r.requester_id DESC
         LIMIT $4
        """,
        target_id,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [((row["requested_at"], row["id"]), user_from_row(row)) for row in rows]


async def count_requests(db: Db, target_id: int) -> int:
    value = await db.fetchval(
        "SELECT count(*) FROM follow_requests WHERE target_id = $1", target_id
    )
    assert isinstance(value, int)
    return value
