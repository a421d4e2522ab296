"""Explore: gravity ranking, author spreading, who is excluded, and stable snapshot paging."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from resources import Resources
from services import explore
from services.explore import ExploreConfig, ExploreDeps, gravity_score, rank_explore
from services.pagination import InvalidArgumentError
from storage.pg import posts as post_store
from storage.pg.explore import ExploreCandidate
from tests.discover_factories import make_published_post
from tests.factories import make_user

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)


def candidate(
    post_id: int, author_id: int, hours: float, likes: int = 0, comments: int = 0
) -> ExploreCandidate:
    return ExploreCandidate(post_id, author_id, NOW - timedelta(hours=hours), likes, comments)


def test_gravity_formula() -> None:
    assert gravity_score(candidate(1, 1, 0), NOW) == pytest.approx(1 / 2**1.8)
    assert gravity_score(candidate(1, 1, 10, likes=5, comments=2), NOW) == pytest.approx(
        10 / 12**1.8
    )
    # Engagement lifts a post; age pulls it down.
    ranked = rank_explore(
        [candidate(1, 1, 1), candidate(2, 2, 1, likes=3), candidate(3, 3, 30, likes=3)],
        NOW,
        per_author=2,
        spread=30,
    )
    assert ranked == [2, 1, 3]


def test_ties_go_to_the_newest_then_the_highest_id() -> None:
    same = [candidate(1, 1, 2), candidate(2, 2, 2), candidate(3, 3, 1)]
    assert rank_explore(same, NOW, per_author=2, spread=30) == [3, 2, 1]


def test_authors_are_spread_out() -> None:
    rng = random.Random(7)
    pool = [
        candidate(
            i,
            rng.choice([1, 1, 1, 1, 2, 2, 3, 4, 5, 6, 7, 8]),
            rng.uniform(0, 100),
            likes=rng.randrange(50),
        )
        for i in range(1, 400)
    ]
    for spread in (2, 5, 10, 30):
        ranked = rank_explore(pool, NOW, per_author=2, spread=spread)
        author = {c.id: c.author_id for c in pool}
        assert len(set(ranked)) == len(ranked)
        for start in range(len(ranked)):
            window = Counter(author[i] for i in ranked[start : start + spread])
            assert max(window.values()) <= 2
        # Every author with posts gets in; only the dominant author's surplus is left out.
        assert {author[i] for i in ranked} == set(author.values())
        assert len(ranked) >= 2 * 8


def test_a_lone_author_gets_at_most_two_slots_per_window() -> None:
    pool = [candidate(i, 1, i) for i in range(1, 10)]
    assert rank_explore(pool, NOW, per_author=2, spread=5) == [1, 2]
    pool += [candidate(100 + i, 1 + i, 50) for i in range(1, 4)]
    assert rank_explore(pool, NOW, per_author=2, spread=5) == [1, 2, 103, 102, 101, 3, 4]


def deps(resources: Resources, spread: int = 4) -> ExploreDeps:
    return ExploreDeps(resources.db, resources.redis, ExploreConfig(per_author=2, spread=spread))


async def walk(resources: Resources, viewer_id: int | None, first: int) -> list[list[int]]:
    pages: list[list[int]] = []
    after = None
    while True:
        page = await explore.read_explore(
            deps(resources), viewer_id, first=first, after=after, now=datetime.now(UTC)
        )
        pages.append([post.id for _, post in page.edges])
        if not page.has_next_page:
            return pages
        after = page.edges[-1][0]


async def test_explore_excludes_the_viewer_and_followees_and_pages_stably(
    clean: Resources,
) -> None:
    viewer = await make_user(clean.db, "viewer")
    followed = await make_user(clean.db, "followed")
    authors = [await make_user(clean.db, f"author{i}") for i in range(5)]
    await clean.db.execute(
        "INSERT INTO follows (follower_id, followee_id) VALUES ($1, $2)", viewer.id, followed.id
    )
    now = datetime.now(UTC)
    own = await make_published_post(clean.db, viewer.id, likes=50)
    theirs = await make_published_post(clean.db, followed.id, likes=50)
    old = await make_published_post(clean.db, authors[0].id, published_at=now - timedelta(days=8))
    expected = [
        await make_published_post(
            clean.db,
            authors[i % 5].id,
            published_at=now - timedelta(hours=i),
            likes=(i * 7) % 11,
        )
        for i in range(20)
    ]
    pages = await walk(clean, viewer.id, first=3)
    seen = [post_id for page in pages for post_id in page]
    assert len(seen) == len(set(seen)) == 20
    assert set(seen) == {post.id for post in expected}
    assert all(len(page) == 3 for page in pages[:-1])
    author_of = {post.id: post.author_id for post in expected}
    for page in pages:
        assert max(Counter(author_of[i] for i in page).values()) <= 2

    anonymous = {i for page in await walk(clean, None, first=4) for i in page}
    assert {own.id, theirs.id} <= anonymous
    assert old.id not in anonymous


async def test_pages_come_from_the_snapshot(clean: Resources) -> None:
    authors = [await make_user(clean.db, f"author{i}") for i in range(6)]
    made = [await make_published_post(clean.db, a.id, likes=i) for i, a in enumerate(authors)]
    first = await explore.read_explore(deps(clean), None, first=2, after=None, now=NOW)
    assert [p.id for _, p in first.edges] == [made[5].id, made[4].id]
    # Engagement changes and deletions after the first page move nothing across pages.
    await clean.db.execute("UPDATE posts SET like_count = 1000 WHERE id = $1", made[0].id)
    await post_store.mark_post_deleted(clean.db, made[3].id)
    rest = await explore.read_explore(deps(clean), None, first=4, after=first.edges[-1][0], now=NOW)
    assert [p.id for _, p in rest.edges] == [made[2].id, made[1].id, made[0].id]
    assert not rest.has_next_page


async def test_bad_arguments(clean: Resources) -> None:
    with pytest.raises(InvalidArgumentError):
        await explore.read_explore(deps(clean), None, first=5, after=None, now=NOW)  # > spread
    with pytest.raises(InvalidArgumentError):
        await explore.read_explore(deps(clean), None, first=2, after="garbage", now=NOW)
    page = await explore.read_explore(deps(clean), None, first=2, after=None, now=NOW)
    assert page.edges == []
    assert not page.has_next_page
    await clean.redis.flushdb()
    expired = "eDE6YWJjZGVmZ2hpamtsOjI"  # x1:abcdefghijkl:2
    with pytest.raises(InvalidArgumentError, match="expired"):
        await explore.read_explore(deps(clean), None, first=2, after=expired, now=NOW)
