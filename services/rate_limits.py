"""Abuse limits: how many likes, comments, follows and posts one user may make per hour and per
day (moving windows: any hour, any 24 hours; see storage.rate_limits).

Two ways to use them:

- `check_and_count` BEFORE the action (the simple way): a refusal raises RATE_LIMITED and counts
  nothing, so the caller stops and nothing changes. What is counted is attempts: liking a post
  already liked, or following someone already followed, counts although it changes nothing.
- `ensure_within_limits` before the action, then `count_action` only if the action really
  changed something (a like inserted, a follow created): idempotent repeats then cost nothing.
  The price is a wider race: concurrent calls of one user may all pass the check, so the limit
  can be exceeded by the number of calls in flight at once.

Limits are per user id; the counters live in Redis only, so losing Redis forgives everyone.
Changing a limit's number starts its window afresh (the number is part of the Redis key).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from limits import RateLimitItem, RateLimitItemPerDay, RateLimitItemPerHour

from services.errors import DomainError, UserErrorCode
from storage import rate_limits
from storage.rate_limits import RateLimiter, RateLimitResult

RateLimitedAction = Literal["like", "comment", "follow", "post", "impressions", "report"]

_NOUNS: dict[RateLimitedAction, str] = {
    "like": "likes",
    "comment": "comments",
    "follow": "follows",
    "post": "posts",
    "impressions": "impression reports",
    "report": "reports",
}


@dataclass(frozen=True, slots=True)
class ActionLimits:
    """How many times one user may do one action in any hour and in any 24 hours."""

    per_hour: int
    per_day: int

    def windows(self) -> tuple[RateLimitItem, RateLimitItem]:
        return RateLimitItemPerHour(self.per_hour), RateLimitItemPerDay(self.per_day)


@dataclass(frozen=True, slots=True)
class RateLimitPolicy:
    """The limits of every limited action (built from settings in resources.py)."""

    likes: ActionLimits
    comments: ActionLimits
    follows: ActionLimits
    posts: ActionLimits
    impressions: ActionLimits = ActionLimits(per_hour=600, per_day=6000)
    """recordImpressions calls (each up to 100 impressions: services.ranker.impressions)."""
    reports: ActionLimits = ActionLimits(per_hour=20, per_day=100)
    """reportContent calls that filed a report (services.reports; repeats are free)."""

    def limits_for(self, action: RateLimitedAction) -> ActionLimits:
        match action:
            case "like":
                return self.likes
            case "comment":
                return self.comments
            case "follow":
                return self.follows
            case "post":
                return self.posts
            case "impressions":
                return self.impressions
            case "report":
                return self.reports


def wait_text(seconds: float) -> str:
    """A wait as people say it, rounded up: "1 minute", "45 minutes", "3 hours"."""
    minutes = max(1, math.ceil(seconds / 60))
    if minutes < 120:
        return "1 minute" if minutes == 1 else f"{minutes} minutes"
    return f"{math.ceil(minutes / 60)} hours"


def refusal(noun: str, result: RateLimitResult) -> DomainError:
    """RATE_LIMITED: "Too many {noun}: try again in {wait}." (see wait_text)."""
    return DomainError.single(
        UserErrorCode.RATE_LIMITED,
        f"Too many {noun}: try again in {wait_text(result.retry_after_seconds)}.",
    )


async def check_and_count(
    limiter: RateLimiter, policy: RateLimitPolicy, action: RateLimitedAction, user_id: int
) -> None:
    """Count one attempt of `action` by `user_id`, or refuse it. Call BEFORE doing the action.

    Raises DomainError RATE_LIMITED ("Too many likes: try again in 12 minutes.") when the hour
    or the day window is full; the wait is until every full window has room again.
    Side effects: when allowed, the attempt is counted in the hour and the day window (Redis);
    when refused, nothing is counted.
    """
    result = await rate_limits.hit(limiter, action, user_id, policy.limits_for(action).windows())
    if not result.allowed:
        raise refusal(_NOUNS[action], result)


async def ensure_within_limits(
    limiter: RateLimiter, policy: RateLimitPolicy, action: RateLimitedAction, user_id: int
) -> None:
    """Refuse `action` if one more would exceed a limit, counting nothing; pair it with
    `count_action` once the action really changed something.

    Raises DomainError RATE_LIMITED as `check_and_count` does. Side effects: none.
    """
    result = await rate_limits.check(limiter, action, user_id, policy.limits_for(action).windows())
    if not result.allowed:
        raise refusal(_NOUNS[action], result)


async def count_action(
    limiter: RateLimiter, policy: RateLimitPolicy, action: RateLimitedAction, user_id: int
) -> None:
    """Count one `action` that has happened (after `ensure_within_limits` let it through).

    Never raises for a full window: the action is done, and a window filled meanwhile by a
    concurrent call simply does not count it. Side effects: the action counted in each window
    with room (Redis).
    """
    await rate_limits.consume(limiter, action, user_id, policy.limits_for(action).windows())
