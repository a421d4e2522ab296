"""The follow graph: idempotence, refusals that change nothing, exact counters, keyset pages."""

from __future__ import annotations

import asyncio
import random

import asyncpg
import pytest

from resources import Resources
from services import follows
from services.errors import DomainError, UserErrorCode
from services.pagination import InvalidArgumentError
from storage.pg import users as user_store
from tests.factories import make_user, social_on, viewer_of


async def counters(db: asyncpg.Connection | asyncpg.Pool, user_id: int) -> tuple[int, int]:
    (user,) = await user_store.fetch_users_by_ids(db, [user_id])
    return user.follower_count, user.following_count


async def test_follow_is_idempotent_and_counts_once(
    resources: Resources, conn: asyncpg.Connection
) -> None:
    ann, ben = await make_user(conn, "ann"), await make_user(conn, "ben")
    first = await follows.follow_user(social_on(resources, conn), viewer_of(ann), ben.id)
    assert (first.viewer.following_count, first.target.follower_count) == (1, 1)
    assert first.status is follows.FollowStatus.FOLLOWING
    again = await follows.follow_user(social_on(resources, conn), viewer_of(ann), ben.id)
    assert (again.viewer.following_count, again.target.follower_count) == (1, 1)
    assert again.status is follows.FollowStatus.FOLLOWING
    assert await conn.fetchval("SELECT count(*) FROM follows") == 1
    assert await counters(conn, ann.id) == (0, 1)
    assert await counters(conn, ben.id) == (1, 0)


async def test_unfollow_is_idempotent(resources: Resources, conn: asyncpg.Connection) -> None:
    ann, ben = await make_user(conn, "ann"), await make_user(conn, "ben")
    await follows.follow_user(social_on(resources, conn), viewer_of(ann), ben.id)
    await follows.unfollow_user(social_on(resources, conn), viewer_of(ann), ben.id)
    me, them = await follows.unfollow_user(social_on(resources, conn), viewer_of(ann), ben.id)
    assert (me.following_count, them.follower_count) == (0, 0)
    assert await conn.fetchval("SELECT count(*) FROM follows") == 0


async def test_following_yourself_or_a_missing_user_is_refused_and_changes_nothing(
    resources: Resources, conn: asyncpg.Connection
) -> None:
    ann = await make_user(conn, "ann")
    with pytest.raises(DomainError) as error:
        await follows.follow_user(social_on(resources, conn), viewer_of(ann), ann.id)
    assert [(e.code, e.field) for e in error.value.errors] == [
        (UserErrorCode.INVALID_INPUT, ("userId",))
    ]
    with pytest.raises(DomainError) as error:
        await follows.follow_user(social_on(resources, conn), viewer_of(ann), ann.id + 1000)
    assert [(e.code, e.field) for e in error.value.errors] == [
        (UserErrorCode.NOT_FOUND, ("userId",))
    ]
    assert await conn.fetchval("SELECT count(*) FROM follows") == 0
    assert await counters(conn, ann.id) == (0, 0)


async def test_counts_stay_exact_under_concurrent_follows_and_unfollows(clean: Resources) -> None:
    db = clean.db
    star = await make_user(db, "star")
    fans = [await make_user(db, f"fan{i}") for i in range(50)]
    # Everyone follows the star and the star follows everyone back, all at once; the reverse
    # edges make opposite lock orders likely (A->B while B->A), the classic deadlock.
    # A task group, not gather: should one fail, the others end before the teardown empties
    # the tables (gather would leave them running into it and the next tests).
    async with asyncio.TaskGroup() as group:
        for fan in fans:
            group.create_task(follows.follow_user(clean.social, viewer_of(fan), star.id))
            group.create_task(follows.follow_user(clean.social, viewer_of(star), fan.id))
    assert await counters(db, star.id) == (50, 50)
    # Then a storm of duplicate follows and unfollows by the first 25, in random order.
    leaving = fans[:25]
    operations = [
        follows.unfollow_user(clean.social, viewer_of(fan), star.id)
        for fan in leaving
        for _twice in range(2)
    ]
    operations += [follows.follow_user(clean.social, viewer_of(fan), star.id) for fan in fans[25:]]
    random.Random(7).shuffle(operations)
    async with asyncio.TaskGroup() as group:
        for operation in operations:
            group.create_task(operation)
    edges = await db.fetchval("SELECT count(*) FROM follows WHERE followee_id = $1", star.id)
    assert edges == 25
    assert await counters(db, star.id) == (25, 50)
    for fan in fans:
        expected_following = 0 if fan in leaving else 1
        assert await counters(db, fan.id) == (1, expected_following)


async def test_follower_pages_visit_everyone_once_newest_first(
    resources: Resources, conn: asyncpg.Connection
) -> None:
    star = await make_user(conn, "star")
    fans = [await make_user(conn, f"fan{i:02d}") for i in range(23)]
    for fan in fans:
        # Identical timestamps inside one transaction: the id breaks the tie.
        await follows.follow_user(social_on(resources, conn), viewer_of(fan), star.id)
    seen: list[int] = []
    after = None
    pages = 0
    while True:
        page = await follows.list_followers(conn, None, star.id, first=10, after=after)
        pages += 1
        seen += [user.id for _, user in page.edges]
        if not page.has_next_page:
            break
        after = page.edges[-1][0]
    assert pages == 3
    assert seen == sorted((fan.id for fan in fans), reverse=True)
    following = await follows.list_following(conn, None, fans[0].id, first=5, after=None)
    assert [user.id for _, user in following.edges] == [star.id]
    assert following.has_next_page is False


@pytest.mark.parametrize(
    ("first", "after"), [(-1, None), (101, None), (5, "not a cursor"), (5, "dDE6eDox")]
)
async def test_bad_page_arguments_are_refused(
    resources: Resources, conn: asyncpg.Connection, first: int, after: str | None
) -> None:
    star = await make_user(conn, "star")
    with pytest.raises(InvalidArgumentError):
        await follows.list_followers(conn, None, star.id, first=first, after=after)
