"""Each ranking feature on its own, then the combined order (pure functions, no I/O)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from services.feed import ranking
from services.feed.ranking import Candidate, Interactions, ScoredPost

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def hours_ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


def post(post_id: int, author_id: int, score: float = 0.0) -> ScoredPost:
    return ScoredPost(post_id, author_id, score, 0.0, 0.0, 0.0)


def test_age_is_in_hours_and_never_negative() -> None:
    assert ranking.age_hours(hours_ago(2.5), NOW) == 2.5
    assert ranking.age_hours(NOW + timedelta(minutes=5), NOW) == 0.0


def test_recency_halves_every_half_life() -> None:
    assert ranking.recency(0) == 1.0
    assert ranking.recency(ranking.HALF_LIFE_HOURS) == 0.5
    assert ranking.recency(3 * ranking.HALF_LIFE_HOURS) == 0.125
    assert ranking.recency(-1) == 1.0


def test_engagement_velocity_is_log_scaled_weighted_engagement_per_hour() -> None:
    assert ranking.engagement_velocity(0, 0, 5.0) == 0.0
    # 10 likes + 5 comments (worth 2 each) over 4 hours: 5 per hour.
    assert ranking.engagement_velocity(10, 5, 4.0) == math.log1p(5.0)
    # Younger than an hour counts as an hour: no explosion for brand-new posts.
    assert ranking.engagement_velocity(3, 0, 0.01) == math.log1p(3.0)
    # Log scale: 100 times the engagement is far from 100 times the feature.
    assert ranking.engagement_velocity(1000, 0, 1) < 3 * ranking.engagement_velocity(10, 0, 1)


def test_affinity_is_log_scaled_likes_and_comments_given() -> None:
    assert ranking.affinity(None) == 0.0
    assert ranking.affinity(Interactions(likes=0, comments=0)) == 0.0
    assert ranking.affinity(Interactions(likes=3, comments=2)) == math.log1p(7.0)


def test_score_is_the_weighted_sum_of_the_features() -> None:
    candidate = Candidate(7, 3, hours_ago(6), like_count=12, comment_count=0)
    scored = ranking.score_post(candidate, Interactions(1, 0), NOW)
    assert scored == ScoredPost(
        post_id=7,
        author_id=3,
        score=3.0 * 0.5 + 1.0 * math.log1p(2.0) + 1.5 * math.log1p(1.0),
        recency=0.5,
        velocity=math.log1p(2.0),
        affinity=math.log1p(1.0),
    )


def test_a_post_already_shown_loses_the_seen_weight() -> None:
    fresh = Candidate(7, 3, hours_ago(0), like_count=0, comment_count=0)
    shown = Candidate(7, 3, hours_ago(0), like_count=0, comment_count=0, seen=True)
    assert ranking.seen(fresh) == 0.0
    assert ranking.seen(shown) == 1.0
    unseen_score = ranking.score_post(fresh, None, NOW)
    seen_score = ranking.score_post(shown, None, NOW)
    assert seen_score.seen == 1.0
    assert seen_score.score == unseen_score.score - ranking.W_SEEN == 3.0 - 2.0
    # A fresh post shown before ranks below an unseen one nine hours old.
    older = ranking.score_post(Candidate(8, 4, hours_ago(9), 0, 0), None, NOW)
    assert ranking.rank([shown, Candidate(8, 4, hours_ago(9), 0, 0)], {}, NOW)[0].post_id == 8
    assert older.score > seen_score.score


def test_diversify_allows_at_most_two_posts_of_an_author_in_a_row() -> None:
    ranked = [post(1, 10), post(2, 10), post(3, 10), post(4, 10), post(5, 20), post(6, 30)]
    assert [p.post_id for p in ranking.diversify(ranked)] == [1, 2, 5, 3, 4, 6]


def test_diversify_keeps_the_order_when_no_run_is_too_long_or_it_is_unavoidable() -> None:
    ranked = [post(1, 10), post(2, 10), post(3, 20), post(4, 10)]
    assert [p.post_id for p in ranking.diversify(ranked)] == [1, 2, 3, 4]
    only_one_author = [post(i, 10) for i in range(1, 5)]
    assert [p.post_id for p in ranking.diversify(only_one_author)] == [1, 2, 3, 4]
    assert [p.post_id for p in ranking.diversify(only_one_author, max_run=1)] == [1, 2, 3, 4]
    assert ranking.diversify([]) == []


def test_rank_orders_by_score_then_newer_id_and_is_deterministic() -> None:
    candidates = [
        Candidate(1, 10, hours_ago(1), 0, 0),
        Candidate(2, 20, hours_ago(1), 0, 0),  # same score as 1: the higher id first
        Candidate(3, 30, hours_ago(30), 0, 0),  # old, but the viewer likes the author a lot
        Candidate(4, 40, hours_ago(3), 50, 10),  # engaging
    ]
    interactions = {30: Interactions(likes=40, comments=5)}
    ranked = ranking.rank(candidates, interactions, NOW)
    assert [p.post_id for p in ranked] == [3, 4, 2, 1]
    assert ranking.rank(list(reversed(candidates)), interactions, NOW) == ranked


@pytest.mark.parametrize("max_run", [1, 2, 3])
def test_rank_applies_author_diversity(max_run: int) -> None:
    candidates = [Candidate(i, 10, hours_ago(i), 0, 0) for i in range(1, 5)]
    candidates.append(Candidate(9, 20, hours_ago(20), 0, 0))
    ranked = [p.post_id for p in ranking.rank(candidates, {}, NOW, max_run=max_run)]
    expected = {1: [1, 9, 2, 3, 4], 2: [1, 2, 9, 3, 4], 3: [1, 2, 3, 9, 4]}
    assert ranked == expected[max_run]
