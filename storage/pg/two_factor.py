"""Queries on `two_factor` (a TOTP enrolment per account, its secret sealed) and
`two_factor_backup_codes` (SHA-256 digests of single-use codes)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.pg import Db


@dataclass(frozen=True, slots=True)
class TwoFactorRecord:
    user_id: int
    secret_ciphertext: bytes
    confirmed_at: datetime | None
    last_used_step: int


async def fetch_two_factor(db: Db, user_id: int, *, lock: bool = False) -> TwoFactorRecord | None:
    """The user's enrolment, pending or confirmed (row-locked with `lock`, which serialises
    concurrent uses of one code)."""
    row = await db.fetchrow(
        "SELECT user_id, secret_ciphertext, confirmed_at, last_used_step FROM two_factor"
        " WHERE user_id = $1" + (" FOR UPDATE" if lock else ""),
        user_id,
    )
    return TwoFactorRecord(**dict(row)) if row else None


async def is_two_factor_on(db: Db, user_id: int) -> bool:
    """Whether the user has a confirmed enrolment (log-ins then need a code)."""
    found = await db.fetchval(
        "SELECT 1 FROM two_factor WHERE user_id = $1 AND confirmed_at IS NOT NULL", user_id
    )
    return found is not None


async def replace_pending(db: Db, user_id: int, secret_ciphertext: bytes) -> bool:
    """Store a new pending enrolment, replacing a pending one; False (nothing changed) when the
    user has a confirmed one. Side effect: one upsert."""
    status = await db.execute(
        """
        INSERT INTO two_factor (user_id, secret_ciphertext) VALUES ($1, $2)
        ON CONFLICT (user_id) DO UPDATE
           SET secret_ciphertext = EXCLUDED.secret_ciphertext, created_at = now(),
               last_used_step = 0
         WHERE two_factor.confirmed_at IS NULL
        """,
        user_id,
        secret_ciphertext,
    )
    return status == "INSERT 0 1"


async def record_step(db: Db, user_id: int, step: int) -> None:
    """A code of time step `step` was accepted: it and earlier ones are refused from now."""
    await db.execute(
        "UPDATE two_factor SET last_used_step = greatest(last_used_step, $2) WHERE user_id = $1",
        user_id,
        step,
    )


async def confirm(db: Db, user_id: int, code_hashes: list[bytes]) -> None:
    """Mark the enrolment confirmed and store its backup codes' digests (replacing any)."""
    await db.execute("UPDATE two_factor SET confirmed_at = now() WHERE user_id = $1", user_id)
    await db.execute("DELETE FROM two_factor_backup_codes WHERE user_id = $1", user_id)
    await db.executemany(
        "INSERT INTO two_factor_backup_codes (user_id, code_hash) VALUES ($1, $2)",
        [(user_id, code_hash) for code_hash in code_hashes],
    )


async def use_backup_code(db: Db, user_id: int, code_hash: bytes) -> bool:
    """Mark the user's unused backup code with this digest used; False when there is none."""
    status = await db.execute(
        """
        UPDATE two_factor_backup_codes SET used_at = now()
         WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL
        """,
        user_id,
        code_hash,
    )
    return status == "UPDATE 1"


async def delete_two_factor(db: Db, user_id: int) -> None:
    """Remove the enrolment and its backup codes."""
    await db.execute("DELETE FROM two_factor WHERE user_id = $1", user_id)
