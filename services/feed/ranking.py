"""Ranking of the home feed (`order: RANKED`): every feature and weight in this one module.

Each candidate post p, seen by viewer v at time `now`, scores

    score(p) = W_RECENCY  * recency(p)
             + W_VELOCITY * velocity(p)
             + W_AFFINITY * affinity(v, author(p))
             - W_SEEN     * seen(v, p)

    recency(p)  = 0.5 ** (age_h / HALF_LIFE_HOURS)
                  age_h = hours since p was published (0 for a future timestamp)
    velocity(p) = ln(1 + (likes + COMMENT_WEIGHT * comments) / max(age_h, MIN_AGE_HOURS))
                  engagement per hour since publish, log-scaled so that one viral post does
                  not bury everything else
    affinity    = ln(1 + likes_given + COMMENT_WEIGHT * comments_given)
                  what v gave the author's posts in the last AFFINITY_DAYS days
    seen        = 1 if v's home feed has already shown p (in either order, within the last
                  SEEN_DAYS days of reading, among the last SEEN_KEPT posts shown), else 0

Posts are sorted by score, highest first, ties broken by the higher (newer) post id, so the
order is deterministic for the same data. Author diversity then re-orders the list greedily:
an author may appear at most MAX_RUN times in a row; the next post is the highest-ranked one
that does not extend such a run (when only that author's posts are left, they follow).

Every function here is pure. docs/ranking.md holds the same formula for readers outside the code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

HALF_LIFE_HOURS = 6.0
"""A post loses half its recency score every six hours."""
MIN_AGE_HOURS = 1.0
"""Velocity divides by at least one hour: a post a minute old with one like is not 'viral'."""
COMMENT_WEIGHT = 2.0
"""A comment counts as two likes (it takes more effort)."""
AFFINITY_DAYS = 30
W_RECENCY = 3.0
W_VELOCITY = 1.0
W_AFFINITY = 1.5
W_SEEN = 2.0
"""A post already shown loses two points: a fresh post seen before (3 - 2 = 1) ranks with an
unseen one about ten hours old, so a reload brings what is new to the top."""
SEEN_DAYS = 3
"""The record of what a viewer was shown expires after three days without reading the feed."""
SEEN_KEPT = 120
"""The most recent posts shown that the record keeps: six pages of 20, and under Redis's
compact-encoding limit for sorted sets (128 entries), about 1.5 KiB per viewer."""
MAX_RUN = 2
"""At most this many posts of one author in a row, where avoidable."""

_SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class Candidate:
    """What ranking needs to know about one post."""

    post_id: int
    author_id: int
    published_at: datetime
    like_count: int
    comment_count: int
    seen: bool = False
    """Whether the viewer's home feed has already shown this post."""


@dataclass(frozen=True, slots=True)
class Interactions:
    """What the viewer gave one author recently."""

    likes: int
    comments: int


@dataclass(frozen=True, slots=True)
class ScoredPost:
    """A ranked post with its features, so that any position can be explained."""

    post_id: int
    author_id: int
    score: float
    recency: float
    velocity: float
    affinity: float
    seen: float = 0.0


def age_hours(published_at: datetime, now: datetime) -> float:
    """Hours since publish; 0 for a timestamp in the future (clock skew)."""
    return max((now - published_at).total_seconds() / _SECONDS_PER_HOUR, 0.0)


def recency(age_h: float) -> float:
    """Exponential decay with a half-life: 1 when new, 0.5 after HALF_LIFE_HOURS."""
    return float(0.5 ** (max(age_h, 0.0) / HALF_LIFE_HOURS))


def engagement_velocity(likes: int, comments: int, age_h: float) -> float:
    """Log-scaled weighted engagement per hour since publish."""
    per_hour = (likes + COMMENT_WEIGHT * comments) / max(age_h, MIN_AGE_HOURS)
    return math.log1p(per_hour)


def affinity(interactions: Interactions | None) -> float:
    """Log-scaled likes and comments the viewer gave the author recently (0 without any)."""
    if interactions is None:
        return 0.0
    return math.log1p(interactions.likes + COMMENT_WEIGHT * interactions.comments)


def seen(candidate: Candidate) -> float:
    """1 for a post the viewer's feed has already shown, else 0."""
    return 1.0 if candidate.seen else 0.0


def score_post(
    candidate: Candidate, interactions: Interactions | None, now: datetime
) -> ScoredPost:
    """The weighted sum of the features of one post (see the module docstring)."""
    age_h = age_hours(candidate.published_at, now)
    r = recency(age_h)
    v = engagement_velocity(candidate.like_count, candidate.comment_count, age_h)
    a = affinity(interactions)
    s = seen(candidate)
    return ScoredPost(
        post_id=candidate.post_id,
        author_id=candidate.author_id,
        score=W_RECENCY * r + W_VELOCITY * v + W_AFFINITY * a - W_SEEN * s,
        recency=r,
        velocity=v,
        affinity=a,
        seen=s,
    )


def diversify(ranked: Sequence[ScoredPost], max_run: int = MAX_RUN) -> list[ScoredPost]:
    """Re-order so that no author has more than `max_run` posts in a row where avoidable: each
    next post is the highest-ranked remaining one that does not extend a run of `max_run`."""
    remaining = list(ranked)
    out: list[ScoredPost] = []
    while remaining:
        pick = 0
        if len(out) >= max_run and len({post.author_id for post in out[-max_run:]}) == 1:
            blocked = out[-1].author_id
            pick = next((i for i, post in enumerate(remaining) if post.author_id != blocked), 0)
        out.append(remaining.pop(pick))
    return out


def diversify_indexes(
    ranked: Sequence[int], authors: Sequence[int], max_run: int = MAX_RUN
) -> list[int]:
    """`diversify` over indexes: `ranked` lists candidate indexes best first, `authors[i]` is
    candidate i's author; the same rule (no run of more than `max_run` posts of one author
    where avoidable). Linear unless long runs must be broken."""
    remaining = list(ranked)
    out: list[int] = []
    run_author, run = -1, 0
    while remaining:
        pick = 0
        if run >= max_run and authors[remaining[0]] == run_author:
            pick = next((i for i, c in enumerate(remaining) if authors[c] != run_author), 0)
        chosen = remaining.pop(pick)
        author = authors[chosen]
        run, run_author = (run + 1, author) if author == run_author else (1, author)
        out.append(chosen)
    return out


def rank(
    candidates: Sequence[Candidate],
    interactions: Mapping[int, Interactions],
    now: datetime,
    *,
    max_run: int = MAX_RUN,
) -> list[ScoredPost]:
    """Score every candidate, sort by score (ties: newer post id first), then diversify.

    `interactions` maps author ids to what the viewer gave them in the last AFFINITY_DAYS.
    """
    scored = [score_post(c, interactions.get(c.author_id), now) for c in candidates]
    scored.sort(key=lambda post: (-post.score, -post.post_id))
    return diversify(scored, max_run)
