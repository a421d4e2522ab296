"""Single-use account tokens sent by email: 256 random bits, url-safe; only their SHA-256 is
stored (storage.pg.account_tokens), so a leaked database holds no working link."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from services.errors import DomainError, UserErrorCode
from storage.pg import Db
from storage.pg import account_tokens as token_store
from storage.pg.account_tokens import AccountTokenRecord

VERIFY_EMAIL = "VERIFY_EMAIL"
CHANGE_EMAIL = "CHANGE_EMAIL"
RESET_PASSWORD = "RESET_PASSWORD"  # noqa: S105 (a purpose, not a secret)
TOKEN_MAX_LENGTH = 128


def invalid_token() -> DomainError:
    return DomainError.single(
        UserErrorCode.INVALID_CREDENTIALS,
        "This link is not valid: it was used already, has expired, or was replaced by a newer one.",
        "token",
    )


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def issue(
    db: Db, *, user_id: int, purpose: str, email: str, ttl: timedelta, replace: bool = True
) -> str:
    """A new token for the user; with `replace`, earlier unused ones of the purpose stop
    working. Side effects: an UPDATE (with `replace`) and an INSERT (run them in the caller's
    transaction)."""
    if replace:
        await token_store.retire_tokens(db, user_id, (purpose,))
    token = secrets.token_urlsafe(32)
    await token_store.insert_token(
        db,
        token_hash=digest(token),
        user_id=user_id,
        purpose=purpose,
        email=email,
        expires_at=datetime.now(UTC) + ttl,
    )
    return token


async def consume(db: Db, token: str, *purposes: str) -> AccountTokenRecord:
    """Use the token once: raises invalid_token() when it is unknown, of none of `purposes`, used
    or expired (nothing changed). Side effect: marks it used (in the caller's transaction: a
    failure later in it leaves the token unused)."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        raise invalid_token()
    token_hash = digest(token.strip())
    record = await token_store.fetch_token_for_update(db, token_hash, purposes)
    if record is None or record.used_at is not None or record.expires_at <= datetime.now(UTC):
        raise invalid_token()
    await token_store.mark_token_used(db, token_hash)
    return record
