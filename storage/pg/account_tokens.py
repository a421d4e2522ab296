"""Queries on `account_tokens` (emailed single-use links, kept as SHA-256 digests) and on the
account columns they guard: the email address, its verification, the password hash."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.pg import Db


@dataclass(frozen=True, slots=True)
class AccountTokenRecord:
    user_id: int
    purpose: str
    email: str
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True, slots=True)
class AccountEmail:
    """What the owner alone may know of their account."""

    user_id: int
    username: str
    email: str
    email_verified_at: datetime | None
    password_hash: str


async def insert_token(
    db: Db, *, token_hash: bytes, user_id: int, purpose: str, email: str, expires_at: datetime
) -> None:
    """Store a new token's digest. Side effect: one INSERT."""
    await db.execute(
        """
        INSERT INTO account_tokens (token_hash, user_id, purpose, email, expires_at)
        VALUES ($1, $2, $3, $4, $5)
        """,
        token_hash,
        user_id,
        purpose,
        email,
        expires_at,
    )


async def fetch_token_for_update(
    db: Db, token_hash: bytes, purposes: tuple[str, ...]
) -> AccountTokenRecord | None:
    """The token of one of these purposes with this digest, row-locked until the transaction
    ends (two concurrent uses serialise: the second sees `used_at`)."""
    row = await db.fetchrow(
        """
        SELECT user_id, purpose, email, expires_at, used_at
          FROM account_tokens WHERE token_hash = $1 AND purpose = ANY($2::text[])
           FOR UPDATE
        """,
        token_hash,
        list(purposes),
    )
    return AccountTokenRecord(**dict(row)) if row else None


async def mark_token_used(db: Db, token_hash: bytes) -> None:
    await db.execute("UPDATE account_tokens SET used_at = now() WHERE token_hash = $1", token_hash)


async def retire_tokens(db: Db, user_id: int, purposes: tuple[str, ...]) -> None:
    """Mark every unused token of these purposes of the user used (a newer one replaces them,
    or what they would do was done another way). Side effect: one UPDATE."""
    await db.execute(
        """
        UPDATE account_tokens SET used_at = now()
         WHERE user_id = $1 AND purpose = ANY($2::text[]) AND used_at IS NULL
        """,
        user_id,
        list(purposes),
    )


async def delete_ended_tokens(db: Db, *, ended_before: datetime) -> int:
    """Delete tokens that expired before `ended_before`; returns how many."""
    status = await db.execute("DELETE FROM account_tokens WHERE expires_at < $1", ended_before)
    return int(status.split()[-1])


_ACCOUNT_EMAIL = (
    "SELECT id AS user_id, username, email, email_verified_at, password_hash FROM users"
)


async def fetch_account_email(db: Db, user_id: int, *, lock: bool = False) -> AccountEmail | None:
    """The user's address, its verification and password hash (row-locked with `lock`)."""
    row = await db.fetchrow(
        f"{_ACCOUNT_EMAIL} WHERE id = $1" + (" FOR UPDATE" if lock else ""), user_id
    )
    return AccountEmail(**dict(row)) if row else None


async def fetch_account_by_email(db: Db, email: str) -> AccountEmail | None:
    row = await db.fetchrow(f"{_ACCOUNT_EMAIL} WHERE email = $1", email)
    return AccountEmail(**dict(row)) if row else None


async def fetch_email_verified(db: Db, user_ids: list[int]) -> dict[int, bool]:
    """{user id: whether their address is verified} for the users that exist (one query)."""
    rows = await db.fetch(
        "SELECT id, email_verified_at IS NOT NULL AS verified FROM users"
        " WHERE id = ANY($1::bigint[])",
        user_ids,
    )
    return {row["id"]: row["verified"] for row in rows}


async def mark_email_verified(db: Db, user_id: int, email: str) -> bool:
    """Mark the address verified if it is still the user's; False otherwise."""
    status = await db.execute(
        """
        UPDATE users SET email_verified_at = coalesce(email_verified_at, now()), updated_at = now()
         WHERE id = $1 AND email = $2
        """,
        user_id,
        email,
    )
    return status == "UPDATE 1"


async def switch_email(db: Db, user_id: int, new_email: str) -> bool:
    """Set the user's address to `new_email`, verified now; False when another account has it
    (nothing changed)."""
    status = await db.execute(
        """
        UPDATE users SET email = $2, email_verified_at = now(), updated_at = now()
         WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM users WHERE email = $2 AND id <> $1)
        """,
        user_id,
        new_email,
    )
    return status == "UPDATE 1"


async def email_in_use(db: Db, email: str) -> bool:
    return bool(await db.fetchval("SELECT EXISTS (SELECT 1 FROM users WHERE email = $1)", email))


async def set_password_hash(db: Db, user_id: int, password_hash: str) -> None:
    """Replace the user's password hash. Side effect: one UPDATE."""
    await db.execute(
        "UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1",
        user_id,
        password_hash,
    )
