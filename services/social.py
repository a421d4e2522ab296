"""What the social use cases (follows, likes, comments) touch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from arq.connections import ArqRedis

from services.rate_limits import (
    RateLimitedAction,
    RateLimitPolicy,
    count_action,
    ensure_within_limits,
)
from storage.pg import Db
from storage.rate_limits import RateLimiter

if TYPE_CHECKING:  # services.feed reads pages through services.likes, which needs SocialDeps
    from services.feed.deps import FeedDeps


@dataclass(frozen=True, slots=True)
class SocialDeps:
    db: Db
    redis: ArqRedis
    """Counters, pub/sub, and the arq queue."""
    limiter: RateLimiter
    limits: RateLimitPolicy
    feed: FeedDeps

    async def ensure_allowed(self, action: RateLimitedAction, user_id: int) -> None:
        """Raise DomainError(RATE_LIMITED) when the user is over a limit (counts nothing)."""
        await ensure_within_limits(self.limiter, self.limits, action, user_id)

    async def count(self, action: RateLimitedAction, user_id: int) -> None:
        """Count an action that changed something (repeats of idempotent actions are free)."""
        await count_action(self.limiter, self.limits, action, user_id)
