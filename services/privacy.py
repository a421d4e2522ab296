"""Private accounts: changing the setting, with what turning public implies (docs/privacy.md)."""

from __future__ import annotations

from services import accounts, follows
from services.accounts import AccountDeps, ProfileChanges
from services.auth import Viewer
from services.social import SocialDeps
from storage.pg import users as user_store
from storage.pg.users import UserRecord


async def update_profile(
    account_deps: AccountDeps, social: SocialDeps, viewer: Viewer, changes: ProfileChanges
) -> UserRecord:
    """accounts.update_profile (its errors and side effects), then, when the profile is now
    public, approve the pending follow requests (follows.approve_after_going_public: the
    oldest few now, the rest in background jobs, bounded batches; each with its follow,
    counters, FOLLOW / FOLLOW_ACCEPTED notifications and feed backfill). Returns the profile
    after the approvals made here."""
    user = await accounts.update_profile(account_deps, viewer, changes)
    if changes.is_private is False and await follows.approve_after_going_public(social, user.id):
        (user,) = await user_store.fetch_users_by_ids(social.db, [user.id])
    return user
