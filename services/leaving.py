"""Leaving: deactivation and deletion with a grace period (docs/accounts.md, "Leaving").

A deactivated account is hidden from everyone by the one visibility rule (services/visibility.py:
as by a block) until its owner logs in again. A deletion deactivates the account at once and
takes effect `grace` later, when the erase_account job erases it (services/erasure.py); logging
in before then cancels it (services.accounts.log_in says so: `SignedIn.deletion_cancelled`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services import account_recovery, accounts
from services.accounts import AccountDeps
from services.auth import Viewer
from services.errors import DomainError, UserErrorCode
from storage import jobs
from storage.micros import micros_of
from storage.pg import leaving as leaving_store
from storage.pg import sessions as session_store
from storage.pg import transaction


async def deactivate_account(deps: AccountDeps, viewer: Viewer, password: str) -> None:
    """Hide the viewer's account and its content from everyone until they log in again.

    Raises DomainError INVALID_CREDENTIALS (wrong password; counted like a failed log-in),
    RATE_LIMITED, NOT_FOUND; nothing changes then. Side effects: users.deactivated_at, every
    session of the account revoked (denylist: its tokens stop at once; sockets closed)."""
    await _leave(deps, viewer, password, erase_after=None)


async def delete_account(
    deps: AccountDeps, viewer: Viewer, password: str, *, grace: timedelta
) -> datetime:
    """Schedule the erasure of the viewer's account `grace` from now; until then it is
    deactivated, and logging in cancels the deletion. Returns when the erasure takes effect.

    Raises as deactivate_account, with nothing changed. Side effects: as deactivate_account,
    plus users.erase_after and an erase_account job deferred to that time (a cron re-finds due
    accounts should Redis lose it)."""
    erase_after = datetime.now(UTC) + grace
    await _leave(deps, viewer, password, erase_after=erase_after)
    await jobs.enqueue_erase_account(
        deps.redis, viewer.user_id, micros_of(erase_after), defer_seconds=grace.total_seconds()
    )
    return erase_after


async def _leave(
    deps: AccountDeps, viewer: Viewer, password: str, *, erase_after: datetime | None
) -> None:
    account = await account_recovery.verify_owner_password(deps, viewer, password)
    async with transaction(deps.db) as conn:
        if not await leaving_store.mark_deactivated(conn, account.user_id, erase_after=erase_after):
            raise DomainError.single(UserErrorCode.NOT_FOUND, "This account no longer exists.")
        ended = await session_store.revoke_user_sessions(
            conn,
            account.user_id,
            reason="account deleted" if erase_after else "account deactivated",
            keep=None,
        )
    await accounts.end_sessions(deps, account.user_id, ended)
