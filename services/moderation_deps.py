"""What the moderation use cases touch (built once per process in resources.py)."""

from __future__ import annotations

from dataclasses import dataclass

from arq.connections import ArqRedis

from services.accounts import AccountDeps
from services.social import SocialDeps
from storage.pg import Db


@dataclass(frozen=True)
class ModerationDeps:
    db: Db
    redis: ArqRedis
    """Pub/sub for the notifications of decisions."""
    social: SocialDeps
    """The report rate limit (its limiter and policy)."""
    accounts: AccountDeps
    """What services.suspensions' suspend_account / lift_suspension take (the seam)."""
    hide_after_reports: int
    """MODERATION_HIDE_AFTER_REPORTS: distinct reporters after which content is hidden."""
