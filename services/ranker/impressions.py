"""Impression reports (`recordImpressions`): what a client had on screen, and how long.

Each impression is attributed to the RANKED page that last served the post to the viewer
(storage.ranker_log.served_pages_of); posts no RANKED page served them lately are recorded
under no page (page id '', the day's start). Idempotent per (viewer, post, served page): a
client may resend a batch. Rate limited per call (services.rate_limits, "impressions").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from arq.connections import ArqRedis

from services import rate_limits
from services.errors import DomainError, UserErrorCode
from services.rate_limits import RateLimitPolicy
from storage import ranker_log
from storage.pg import Db
from storage.rate_limits import RateLimiter

MAX_BATCH = 100
MAX_VISIBLE_MS = 3_600_000
"""Longer on screen than an hour counts as an hour (a client left open)."""


@dataclass(frozen=True, slots=True)
class ReportedImpression:
    post_id: int
    position: int
    visible_ms: int


@dataclass(frozen=True, slots=True)
class ImpressionDeps:
    db: Db
    redis: ArqRedis
    limiter: RateLimiter
    limits: RateLimitPolicy


async def record_impressions(
    deps: ImpressionDeps,
    viewer_id: int,
    impressions: Sequence[ReportedImpression],
    *,
    now: datetime | None = None,
) -> int:
    """Record the viewer's impressions; returns how many were new (repeats are skipped).

    Raises DomainError INVALID_INPUT (field `impressions`) for an empty batch, more than
    MAX_BATCH, or a negative position or visible time, and RATE_LIMITED when the viewer
    reports too often; nothing is recorded then. Side effects: the call counted against the
    limit; the new rows in ranker_impressions.
    """
    if not impressions or len(impressions) > MAX_BATCH:
        raise DomainError.single(
            UserErrorCode.INVALID_INPUT,
            f"Report between 1 and {MAX_BATCH} impressions at a time.",
            field="impressions",
        )
    if any(i.position < 0 or i.visible_ms < 0 for i in impressions):
        raise DomainError.single(
            UserErrorCode.INVALID_INPUT,
            "Positions and visible times cannot be negative.",
            field="impressions",
        )
    await rate_limits.check_and_count(deps.limiter, deps.limits, "impressions", viewer_id)
    now = now or datetime.now(UTC)
    day_start = datetime(now.year, now.month, now.day, tzinfo=UTC)
    served = await ranker_log.served_pages_of(
        deps.redis, viewer_id, sorted({i.post_id for i in impressions})
    )
    rows = {}
    for reported in impressions:
        page_id, served_at = served.get(reported.post_id, ("", day_start))
        rows[reported.post_id, page_id] = ranker_log.Impression(
            served_at,
            page_id,
            viewer_id,
            reported.post_id,
            reported.position,
            min(reported.visible_ms, MAX_VISIBLE_MS),
        )
    return await ranker_log.insert_impressions(deps.db, list(rows.values()))
