"""Queries on `sessions`: one row per signed-in device, holding its rotating refresh token."""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass
from datetime import datetime

from storage.pg import Db


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: uuid.UUID
    user_id: int
    refresh_token_hash: bytes
    generation: int
    expires_at: datetime
    revoked_at: datetime | None


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class SessionListing:
    """What the owner is shown of one live session."""

    id: uuid.UUID
    device: str | None
    approximate_address: Network | None
    created_at: datetime
    last_used_at: datetime


async def insert_session(
    db: Db,
    *,
    session_id: uuid.UUID,
    user_id: int,
    token_hash: bytes,
    expires_at: datetime,
    device: str | None = None,
    approximate_address: Network | None = None,
) -> None:
    await db.execute(
        """
        INSERT INTO sessions (id, user_id, refresh_token_hash, expires_at, device,
                              approximate_address)
        VALUES ($1, $2, $3, $4, $5, $6)
        """,
        session_id,
        user_id,
        token_hash,
        expires_at,
        device,
        approximate_address,
    )


async def fetch_live_sessions(db: Db, user_id: int, *, limit: int) -> list[SessionListing]:
    """The user's sessions neither revoked nor expired, most recently used first (at most
    `limit`). One query (sessions_user_id_idx)."""
    rows = await db.fetch(
        """
        SELECT id, device, approximate_address, created_at, refreshed_at AS last_used_at
          FROM sessions
         WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now()
         ORDER BY refreshed_at DESC, id
         LIMIT $2
        """,
        user_id,
        limit,
    )
    return [SessionListing(**dict(row)) for row in rows]


async def revoke_user_session(db: Db, user_id: int, session_id: uuid.UUID, *, reason: str) -> bool:
    """Mark the user's live session revoked; False when the user has no such live session
    (someone else's, ended, expired or unknown: nothing changed)."""
    status = await db.execute(
        """
        UPDATE sessions SET revoked_at = now(), revoked_reason = $3
         WHERE id = $2 AND user_id = $1 AND revoked_at IS NULL AND expires_at > now()
        """,
        user_id,
        session_id,
        reason,
    )
    return status == "UPDATE 1"


async def fetch_session_for_update(db: Db, session_id: uuid.UUID) -> SessionRecord | None:
    """The session, row-locked until the transaction ends (serialises concurrent refreshes)."""
    row = await db.fetchrow(
        """
        SELECT id, user_id, refresh_token_hash, generation, expires_at, revoked_at
          FROM sessions WHERE id = $1 FOR UPDATE
        """,
        session_id,
    )
    return SessionRecord(**dict(row)) if row else None


async def rotate_session_token(
    db: Db,
    session_id: uuid.UUID,
    *,
    token_hash: bytes,
    expires_at: datetime,
    approximate_address: Network | None = None,
) -> None:
    """Replace the current refresh-token hash and bump the generation; the replaced hash is
    kept as retired (see is_retired_token). The session counts as used now (`refreshed_at`,
    shown as its last use) from `approximate_address` when known."""
    await db.execute(
        """
        WITH retired AS (
            INSERT INTO retired_refresh_tokens (token_hash, session_id)
            SELECT refresh_token_hash, id FROM sessions WHERE id = $1
            ON CONFLICT DO NOTHING
        )
        UPDATE sessions
           SET refresh_token_hash = $2, generation = generation + 1,
               refreshed_at = now(), expires_at = $3,
               approximate_address = coalesce($4, approximate_address)
         WHERE id = $1
        """,
        session_id,
        token_hash,
        expires_at,
        approximate_address,
    )


async def is_retired_token(db: Db, session_id: uuid.UUID, token_hash: bytes) -> bool:
    """Whether `token_hash` was once this session's refresh token, since rotated away."""
    found = await db.fetchval(
        "SELECT 1 FROM retired_refresh_tokens WHERE token_hash = $1 AND session_id = $2",
        token_hash,
        session_id,
    )
    return found is not None


async def revoke_session(db: Db, session_id: uuid.UUID, *, reason: str) -> bool:
    """Mark the session revoked; False when it was already revoked or does not exist."""
    status = await db.execute(
        """
        UPDATE sessions SET revoked_at = now(), revoked_reason = $2
         WHERE id = $1 AND revoked_at IS NULL
        """,
        session_id,
        reason,
    )
    return status == "UPDATE 1"


async def delete_ended_sessions(db: Db, *, ended_before: datetime) -> int:
    """Delete sessions that expired or were revoked before `ended_before`; returns how many."""
    status = await db.execute(
        "DELETE FROM sessions WHERE expires_at < $1 OR revoked_at < $1",
        ended_before,
    )
    return int(status.split()[-1])


async def revoke_user_sessions(
    db: Db, user_id: int, *, reason: str, keep: uuid.UUID | None = None
) -> list[uuid.UUID]:
    """Mark every live session of the user revoked but `keep`; returns the ids revoked."""
    rows = await db.fetch(
        """
        UPDATE sessions SET revoked_at = now(), revoked_reason = $2
         WHERE user_id = $1 AND revoked_at IS NULL AND id IS DISTINCT FROM $3
        RETURNING id
        """,
        user_id,
        reason,
        keep,
    )
    return [row["id"] for row in rows]
