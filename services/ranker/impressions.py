"""Impression reports (`recordImpressions`): what a client had on screen, for how long, and
whether the viewer opened the author's profile from it (a profile visit from the feed: an
engagement label, docs/ranking.md).

Each impression is attributed to the RANKED page that last served the post to the viewer
(storage.ranker_log.served_pages_of); posts no RANKED page served them lately are recorded
under no page (page id '', the day's start). Idempotent per (viewer, post, served page): a
client may resend a batch, and a resend may add what happened since (a longer time on screen,
the profile opened later): the stored row keeps the longest time and the first opening. Only
posts the viewer may see are accepted (services.visibility's rule). Rate limited per call
(services.rate_limits, "impressions").
"""

from __future__ import annotations

import collections
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from arq.connections import ArqRedis
from prometheus_client import Counter

from metrics import RANKER_ENGAGED_IMPRESSIONS, RANKER_IMPRESSIONS
from services import rate_limits
from services.errors import DomainError, UserError, UserErrorCode
from services.rate_limits import RateLimitPolicy
from storage import ranker_log
from storage.pg import Db
from storage.pg.posts import fetch_visible_posts_by_ids
from storage.ranker_log import ServedPost
from storage.rate_limits import RateLimiter

MAX_BATCH = 100
LONG_DWELL_MS = 3000
"""On screen this long makes an impression engaged (a label: services.ranker.training)."""
ENGAGEMENT_WINDOW = timedelta(hours=24)
"""Engagement counts for a served page this long after it (a profile opening reported later
is not recorded)."""
MAX_VISIBLE_MS = 3_600_000
"""Longer on screen than an hour counts as an hour (a client left open)."""


@dataclass(frozen=True, slots=True)
class ReportedImpression:
    post_id: int
    position: int
    visible_ms: int
    opened_profile: bool = False


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
    MAX_BATCH, or a negative position or visible time, NOT_FOUND (field `impressions.N.postId`)
    for a post the viewer may not see, and RATE_LIMITED when the viewer reports too often;
    nothing is recorded then. Side effects: the call counted against the limit; the new rows in
    ranker_impressions, and on rows already there a longer visible time or a first profile
    opening (at `now`; not recorded after the ENGAGEMENT_WINDOW of its page).
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
    post_ids = sorted({i.post_id for i in impressions})
    visible = {post.id for post in await fetch_visible_posts_by_ids(deps.db, post_ids, viewer_id)}
    for index, reported in enumerate(impressions):
        if reported.post_id not in visible:
            raise DomainError(
                UserError(
                    UserErrorCode.NOT_FOUND, "No such post.", ("impressions", str(index), "postId")
                )
            )
    await rate_limits.check_and_count(deps.limiter, deps.limits, "impressions", viewer_id)
    now = now or datetime.now(UTC)
    day_start = datetime(now.year, now.month, now.day, tzinfo=UTC)
    served = await ranker_log.served_posts_of(deps.redis, viewer_id, post_ids)
    rows: dict[tuple[int, str], ranker_log.Impression] = {}
    for reported in impressions:
        page = served.get(reported.post_id)
        page_id, served_at = (page.page_id, page.served_at) if page else ("", day_start)
        earlier = rows.get((reported.post_id, page_id))
        rows[reported.post_id, page_id] = ranker_log.Impression(
            served_at,
            page_id,
            viewer_id,
            reported.post_id,
            reported.position if earlier is None else earlier.position,
            max(min(reported.visible_ms, MAX_VISIBLE_MS), earlier.visible_ms if earlier else 0),
            now
            if (reported.opened_profile or (earlier is not None and earlier.profile_opened_at))
            and now < served_at + ENGAGEMENT_WINDOW
            else None,
        )
    written = await ranker_log.insert_impressions(
        deps.db, list(rows.values()), long_dwell_ms=LONG_DWELL_MS
    )
    _count_by_arm(RANKER_IMPRESSIONS, written.new, served)
    _count_by_arm(RANKER_ENGAGED_IMPRESSIONS, written.newly_engaged, served)
    return len(written.new)


def _count_by_arm(
    counter: Counter, rows: Sequence[tuple[int, str]], served: Mapping[int, ServedPost]
) -> None:
    """Count `rows` (post id, page id) by the arm of the page that served each (metrics).
    Side effect: the counter's increments."""
    arms = collections.Counter(arm_of(page_id, served.get(post_id)) for post_id, page_id in rows)
    for arm, count in sorted(arms.items()):
        counter.labels(arm).inc(count)


def arm_of(page_id: str, served: ServedPost | None) -> str:
    """The experiment arm that served an impression's page: "model" or "challenger" when a
    model ranked it in that arm, "formula" when the formula did, "unranked" when no RANKED page
    did (a bounded set: services.ranker.serving.ARMS and "unranked"). Pure."""
    if not page_id or served is None:
        return "unranked"
    return served.arm
