"""Suspensions and bans of accounts (issue #19; docs/moderation.md, "Suspensions and bans").

The seam the moderation actions (SUSPEND, BAN, RESTORE) call; `deps` is
services.accounts.AccountDeps (PostgreSQL, the Redis denylist and events, the access-token
lifetime).

While an account is suspended (until a time) or banned (no end):
- it is hidden from everyone by the one visibility rule, as a deactivated account is
  (storage.pg.visibility.hidden_account_sql): profile, posts (feeds filter them at read, cached
  or not), comments, likes in likers lists, follows in others' lists, the notifications it
  caused. Its follows both ways are kept, counts unchanged, so lifting restores everything;
- it has no session: suspending ends them all at once (services.accounts.end_sessions: tokens
  refused through the denylist, refresh refused, sockets closed), and log-in (with a password,
  or its second step with a code) is refused with ACCOUNT_SUSPENDED and the end date
  (services.accounts.sign_in_owner), without ending the suspension;
- a suspension lifts itself when its end passes: the rule and log-in both compare the end with
  the database's now() (storage.pg.suspensions.suspended_sql), no job involved. Only the cached
  feeds need help: one rebuilt meanwhile was built without the account's posts, so a
  fan_out_author job deferred to the end (or run at once when lifted) puts them back (the job
  lives in the Redis that holds the feeds: losing one loses the other, rebuilt from PostgreSQL).

Who may suspend, and the audit log of it, are the callers' (services/moderation_cases.py).
"""

from __future__ import annotations

from datetime import UTC, datetime

from services import accounts
from services.accounts import AccountDeps
from services.errors import DomainError, UserErrorCode
from storage import jobs
from storage.micros import micros_of
from storage.pg import sessions as session_store
from storage.pg import suspensions as suspension_store
from storage.pg import transaction


def _no_account() -> DomainError:
    return DomainError.single(UserErrorCode.NOT_FOUND, "No such account.", "userId")


async def suspend_account(
    deps: AccountDeps, user_id: int, *, until: datetime | None, reason: str
) -> None:
    """Suspend the account until `until` (timezone-aware, in the future), or ban it
    (`until=None`), for `reason` (kept for moderators, shown to no one else). Idempotent: a
    second call replaces the end and the reason of the suspension in force.

    Raises DomainError NOT_FOUND (no such account), INVALID_INPUT (`until` naive or not in
    the future); nothing changes then. Side effects, in one transaction: the user's suspension
    columns, every live session revoked; then each session ended at once (Redis denylist,
    SESSION_ENDED_EVENT: its websockets close); the feeds' repair job moved to the new end
    (deferred to it; none for a ban: see the module's docstring)."""
    if until is not None and (until.tzinfo is None or until <= datetime.now(UTC)):
        raise DomainError.single(
            UserErrorCode.INVALID_INPUT, "A suspension ends in the future (with a zone).", "until"
        )
    async with transaction(deps.db) as conn:
        replaced = await suspension_store.mark_suspended(conn, user_id, until=until, reason=reason)
        if replaced is None:
            raise _no_account()
        ended = await session_store.revoke_user_sessions(
            conn, user_id, reason="account banned" if until is None else "account suspended"
        )
    await accounts.end_sessions(deps, user_id, ended)
    if replaced.previous_until != until:
        await _cancel_feed_repair(deps, user_id, replaced.previous_until)
        if until is not None:
            await jobs.enqueue_fan_out_author(
                deps.redis, user_id, micros_of(until), defer_until=until
            )


async def lift_suspension(deps: AccountDeps, user_id: int) -> None:
    """End the account's suspension or ban: it is visible again and may log in. Idempotent
    (an account that is not suspended stays as it is).

    Raises DomainError NOT_FOUND (no such account), nothing changed. Side effects: the user's
    suspension columns cleared; the feeds' repair job runs now instead of at the end: a
    fan_out_author job puts the account's recent posts back into its followers' cached feeds
    (a feed rebuilt during the suspension was built without them)."""
    replaced = await suspension_store.clear_suspension(deps.db, user_id)
    if replaced is None:
        raise _no_account()
    await _cancel_feed_repair(deps, user_id, replaced.previous_until)
    await jobs.enqueue_fan_out_author(deps.redis, user_id, micros_of(datetime.now(UTC)))


async def _cancel_feed_repair(deps: AccountDeps, user_id: int, until: datetime | None) -> None:
    """Take the repair job deferred to a suspension's end out of the queue (none for a ban)."""
    if until is not None:
        await jobs.cancel_fan_out_author(deps.redis, user_id, micros_of(until))
