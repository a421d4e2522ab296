"""The home feed on real PostgreSQL and Redis: fan-out, the read path, follow upkeep, paging."""

from __future__ import annotations

from datetime import timedelta

import pytest

from resources import Resources
from services import feed, follows
from services.cursors import FeedSnapshotCursor, FeedTailCursor, decode
from services.feed import FeedDeps, FeedOrder
from services.pagination import InvalidArgumentError
from storage import jobs, redis_keys
from storage.feed import cache as feeds
from storage.micros import micros_of
from storage.pg.post_views import fetch_post_views
from storage.pg.posts import fetch_posts_by_ids, insert_post_media
from storage.pg.users import UserRecord, fetch_users_by_ids
from tests.factories import make_media, make_user, viewer_of
from tests.feed_factories import (
    at,
    delete_follows,
    delete_post,
    feed_deps,
    insert_follows,
    insert_like,
    insert_post,
    run_feed_worker_until_idle,
    social_with,
)

CHRONO = FeedOrder.CHRONOLOGICAL


async def users(resources: Resources, *names: str) -> list[UserRecord]:
    return [await make_user(resources.db, name) for name in names]


async def read_all(
    deps: FeedDeps, viewer_id: int, *, first: int = 3, order: FeedOrder = CHRONO
) -> list[int]:
    """Every post id of the feed, page by page."""
    ids: list[int] = []
    after = None
    while True:
        page = await feed.read_feed_ids(deps, viewer_id, first=first, after=after, order=order)
        ids += [post_id for _, post_id in page.edges]
        if not page.has_next_page:
            return ids
        after = page.edges[-1][0]


async def cached(resources: Resources, user_id: int) -> list[str] | None:
    """The raw members of a user's feed, lowest score first (None: no feed)."""
    key = redis_keys.feed(user_id)
    if not await resources.redis.exists(key):
        return None
    return [member.decode() for member in await resources.redis.zrange(key, 0, -1)]


async def test_fan_out_skips_inactive_followers_and_celebrity_authors(clean: Resources) -> None:
    deps = feed_deps(clean, celebrity_follower_threshold=3)
    author, star, active, inactive, other = await users(clean, "author", "star", "ac", "in", "o")
    await insert_follows(
        clean.db,
        [(active.id, author.id), (inactive.id, author.id)]
        + [(u.id, star.id) for u in (active, inactive, other)],
    )
    page = await feed.read_feed_ids(deps, active.id, first=5, after=None, order=CHRONO)
    assert page == feed.FeedIdPage(edges=[], has_next_page=False, like_counters=[])
    assert await cached(clean, active.id) == ["h"]

    post = await insert_post(clean.db, author.id, at(1))
    assert await feed.fan_out_post(deps, post) == feed.FanOutResult(None, 1, 1)
    assert await cached(clean, active.id) == ["h", str(post)]
    assert await cached(clean, inactive.id) is None
    assert await feed.fan_out_post(deps, post) == feed.FanOutResult(None, 1, 0)

    star_post = await insert_post(clean.db, star.id, at(2))
    assert await feed.fan_out_post(deps, star_post) == feed.FanOutResult("celebrity", 0, 0)
    assert await cached(clean, active.id) == ["h", str(post)]
    assert await read_all(deps, active.id) == [star_post, post]


async def test_fan_out_of_a_post_no_longer_published_does_nothing(clean: Resources) -> None:
    deps = feed_deps(clean)
    author, reader = await users(clean, "author", "reader")
    await insert_follows(clean.db, [(reader.id, author.id)])
    await read_all(deps, reader.id)
    post = await insert_post(clean.db, author.id, at(1))
    await delete_post(clean.db, post)
    assert await feed.fan_out_post(deps, post) == feed.FanOutResult("not published", 0, 0)
    assert await feed.fan_out_batch(deps, post, 0, None) == 0
    assert await cached(clean, reader.id) == ["h"]


async def test_feeds_are_trimmed_to_the_max_and_deeper_pages_come_from_postgres(
    clean: Resources,
) -> None:
    deps = feed_deps(clean, max_entries=3)
    author, reader = await users(clean, "author", "reader")
    await insert_follows(clean.db, [(reader.id, author.id)])
    await read_all(deps, reader.id)
    posts = [await insert_post(clean.db, author.id, at(minute)) for minute in range(5)]
    for post in posts:
        await feed.fan_out_post(deps, post)
    # The two oldest were trimmed; the horizon sits at the newest trimmed one.
    assert await cached(clean, reader.id) == ["h", *map(str, posts[2:])]
    horizon = await clean.redis.zscore(redis_keys.feed(reader.id), "h")
    assert horizon is not None
    assert feeds.micros_of_score(horizon) == micros_of(at(1))
    assert await read_all(deps, reader.id, first=2) == posts[::-1]


async def test_fan_out_runs_in_batches_of_the_configured_size_and_retries_are_harmless(
    clean: Resources,
) -> None:
    deps = feed_deps(clean, inline=False, fan_out_batch_size=3)
    author, *followers = await users(clean, "author", *[f"f{i}" for i in range(10)])
    await insert_follows(clean.db, [(f.id, author.id) for f in followers])
    inactive = followers[4]
    for follower in followers:
        if follower is not inactive:
            await read_all(deps, follower.id)
    post = await insert_post(clean.db, author.id, at(1))

    assert await jobs.enqueue_fan_out_post(clean.redis, post)
    worker = await run_feed_worker_until_idle(clean, deps)
    # The planner, then batches (0, f3], (f3, f6], (f6, f9], (f9, end).
    assert (worker.jobs_complete, worker.jobs_failed) == (5, 0)
    queued = sorted(key.decode() for key in await clean.redis.keys("arq:result:fan_out_batch:*"))
    ids = [f.id for f in followers]
    assert queued == sorted(
        f"arq:result:fan_out_batch:{post}:{after}" for after in (0, ids[2], ids[5], ids[8])
    )
    for follower in followers:
        expected = None if follower is inactive else ["h", str(post)]
        assert await cached(clean, follower.id) == expected

    # A retried batch adds nothing, and the same batch is not enqueued twice.
    assert await feed.fan_out_batch(deps, post, ids[2], ids[5]) == 0
    assert not await jobs.enqueue_fan_out_batch(clean.redis, post, ids[2], ids[5])
    assert not await jobs.enqueue_fan_out_post(clean.redis, post)
    assert await cached(clean, followers[3].id) == ["h", str(post)]

    # Inline, the same batches add each post once per active follower.
    second = await insert_post(clean.db, author.id, at(2))
    inline = feed_deps(clean, fan_out_batch_size=3)
    assert await feed.fan_out_post(inline, second) == feed.FanOutResult(None, 4, 9)


async def test_read_merges_cached_celebrity_and_own_posts_without_repeats(
    clean: Resources,
) -> None:
    deps = feed_deps(clean, celebrity_follower_threshold=2)
    me, friend, star, fan, stranger = await users(clean, "me", "friend", "star", "fan", "x")
    await insert_follows(clean.db, [(me.id, friend.id), (me.id, star.id), (fan.id, star.id)])
    await read_all(deps, me.id)
    mine = await insert_post(clean.db, me.id, at(1))
    friends = [await insert_post(clean.db, friend.id, at(m)) for m in (2, 5)]
    stars = [await insert_post(clean.db, star.id, at(m)) for m in (3, 4)]
    await insert_post(clean.db, stranger.id, at(6))
    for post in [mine, *friends, *stars]:
        await feed.fan_out_post(deps, post)
    assert await cached(clean, me.id) == ["h", *map(str, friends)]
    # A cached entry of a celebrity (fanned out before they became one) is not repeated.
    await feeds.merge_entries(clean.redis, [me.id], [(micros_of(at(3)), stars[0])], max_entries=800)
    expected = [friends[1], stars[1], stars[0], friends[0], mine]
    assert await read_all(deps, me.id, first=2) == expected
    assert await read_all(deps, me.id, first=100) == expected


async def test_a_missing_feed_is_rebuilt_from_postgres_and_cached(clean: Resources) -> None:
    deps = feed_deps(clean, max_entries=3)
    me, a, b = await users(clean, "me", "a", "b")
    await insert_follows(clean.db, [(me.id, a.id), (me.id, b.id)])
    posts = [await insert_post(clean.db, (a, b)[m % 2].id, at(m)) for m in range(5)]
    assert await cached(clean, me.id) is None
    page = await feed.read_feed_ids(deps, me.id, first=2, after=None, order=CHRONO)
    assert [post_id for _, post_id in page.edges] == [posts[4], posts[3]]
    assert await cached(clean, me.id) == ["h", *map(str, posts[2:])]
    ttl = await clean.redis.ttl(redis_keys.feed(me.id))
    assert 7 * 24 * 3600 - 5 <= ttl <= 7 * 24 * 3600
    # Revived: fan-out reaches the user again.
    newer = await insert_post(clean.db, a.id, at(9))
    assert (await feed.fan_out_post(deps, newer)).inserted == 1
    assert await read_all(deps, me.id) == [newer, *posts[::-1]]
    # Flushed: rebuilt again, same feed.
    await clean.redis.flushdb()
    assert await read_all(deps, me.id, first=4) == [newer, *posts[::-1]]


async def test_reading_refreshes_the_ttl_and_writing_does_not(clean: Resources) -> None:
    deps = feed_deps(clean)
    me, a = await users(clean, "me", "a")
    await insert_follows(clean.db, [(me.id, a.id)])
    await read_all(deps, me.id)
    key = redis_keys.feed(me.id)
    await clean.redis.expire(key, 100)
    await feed.fan_out_post(deps, await insert_post(clean.db, a.id, at(1)))
    assert 95 <= await clean.redis.ttl(key) <= 100
    await read_all(deps, me.id)
    assert await clean.redis.ttl(key) > 100


async def test_backfill_on_follow_and_removal_on_unfollow(clean: Resources) -> None:
    deps = feed_deps(clean)
    me, a, b, lazy = await users(clean, "me", "a", "b", "lazy")
    a_posts = [await insert_post(clean.db, a.id, at(m)) for m in (1, 3)]
    b_post = await insert_post(clean.db, b.id, at(2))
    await insert_follows(clean.db, [(me.id, b.id)])
    assert await read_all(deps, me.id) == [b_post]

    await insert_follows(clean.db, [(me.id, a.id), (lazy.id, a.id)])
    assert await feed.backfill_followee(deps, me.id, a.id) == 2
    assert await cached(clean, me.id) == ["h", str(a_posts[0]), str(b_post), str(a_posts[1])]
    assert await feed.backfill_followee(deps, me.id, a.id) == 0
    assert await read_all(deps, me.id) == [a_posts[1], b_post, a_posts[0]]
    # Nothing for a user without a live feed: the next read rebuilds it anyway.
    assert await feed.backfill_followee(deps, lazy.id, a.id) == 0
    assert await cached(clean, lazy.id) is None

    await delete_follows(clean.db, [(me.id, a.id)])
    assert await feed.remove_followee(deps, me.id, a.id, followee_follower_count=1) == 2
    assert await cached(clean, me.id) == ["h", str(b_post)]
    assert await read_all(deps, me.id) == [b_post]


async def test_follow_and_unfollow_keep_the_feed_through_the_follow_service(
    clean: Resources,
) -> None:
    deps = feed_deps(clean)
    social = social_with(clean, deps)
    me, a = await users(clean, "me", "a")
    post = await insert_post(clean.db, a.id, at(1))
    assert await read_all(deps, me.id) == []
    await follows.follow_user(social, viewer_of(me), a.id)
    assert await cached(clean, me.id) == ["h", str(post)]
    await follows.unfollow_user(social, viewer_of(me), a.id)
    assert await cached(clean, me.id) == ["h"]


async def test_posts_of_an_unfollowed_author_left_in_the_cache_are_filtered(
    clean: Resources,
) -> None:
    deps = feed_deps(clean)
    me, a = await users(clean, "me", "a")
    await insert_follows(clean.db, [(me.id, a.id)])
    await read_all(deps, me.id)
    post = await insert_post(clean.db, a.id, at(1))
    await feed.fan_out_post(deps, post)
    await delete_follows(clean.db, [(me.id, a.id)])  # and no remove_followee
    assert await cached(clean, me.id) == ["h", str(post)]
    assert await read_all(deps, me.id) == []


async def test_deleted_posts_are_filtered_at_read(clean: Resources) -> None:
    deps = feed_deps(clean, celebrity_follower_threshold=2)
    me, a, star, fan = await users(clean, "me", "a", "star", "fan")
    await insert_follows(clean.db, [(me.id, a.id), (me.id, star.id), (fan.id, star.id)])
    await read_all(deps, me.id)
    posts = [
        await insert_post(clean.db, author.id, at(m)) for m, author in enumerate((a, star, me, a))
    ]
    for post in posts:
        await feed.fan_out_post(deps, post)
    for post in posts[:3]:
        await delete_post(clean.db, post)
    assert await read_all(deps, me.id, first=1) == [posts[3]]


async def test_a_cache_window_emptied_by_deletes_is_read_further(clean: Resources) -> None:
    deps = feed_deps(clean)
    me, a = await users(clean, "me", "a")
    await insert_follows(clean.db, [(me.id, a.id)])
    await read_all(deps, me.id)
    posts = [await insert_post(clean.db, a.id, at(m)) for m in range(30)]
    for post in posts:
        await feed.fan_out_post(deps, post)
    for post in posts[5:]:  # more than one cache window of the newest entries
        await delete_post(clean.db, post)
    assert await read_all(deps, me.id, first=2) == posts[4::-1]


async def test_a_cache_thinner_than_a_page_is_refilled(clean: Resources) -> None:
    deps = feed_deps(clean)
    me, a = await users(clean, "me", "a")
    await insert_follows(clean.db, [(me.id, a.id)])
    posts = [await insert_post(clean.db, a.id, at(m)) for m in range(4)]
    # A live feed that holds nothing below a recent horizon (e.g. after unfollows).
    await feeds.create_live_feeds(
        clean.redis, [me.id], [], horizon_micros=micros_of(at(10)), max_entries=800, ttl_seconds=60
    )
    assert await cached(clean, me.id) == ["h"]
    assert await read_all(deps, me.id, first=10) == posts[::-1]
    assert await cached(clean, me.id) == ["h", *map(str, posts)]
    horizon = await clean.redis.zscore(redis_keys.feed(me.id), "h")
    assert horizon == 0


async def test_an_author_dropping_below_the_threshold_is_fanned_out(clean: Resources) -> None:
    deps = feed_deps(clean, celebrity_follower_threshold=3)
    star, me, fan, third = await users(clean, "star", "me", "fan", "third")
    await insert_follows(clean.db, [(u.id, star.id) for u in (me, fan, third)])
    for reader in (me, fan):
        await read_all(deps, reader.id)
    posts = [await insert_post(clean.db, star.id, at(m)) for m in (1, 2)]
    assert (await feed.fan_out_post(deps, posts[1])).skipped == "celebrity"
    assert await cached(clean, me.id) == ["h"]

    _, target = await follows.unfollow_user(social_with(clean, deps), viewer_of(third), star.id)
    assert target.follower_count == 2  # and the follow service called remove_followee
    assert await cached(clean, me.id) == ["h", *map(str, posts)]
    assert await cached(clean, fan.id) == ["h", *map(str, posts)]
    assert await read_all(deps, me.id) == posts[::-1]


async def test_an_enqueued_author_fan_out_runs_on_the_worker(clean: Resources) -> None:
    deps = feed_deps(clean, inline=False, celebrity_follower_threshold=2)
    star, me, third = await users(clean, "star", "me", "third")
    await insert_follows(clean.db, [(me.id, star.id), (third.id, star.id)])
    await read_all(deps, me.id)
    post = await insert_post(clean.db, star.id, at(1))
    await follows.unfollow_user(social_with(clean, deps), viewer_of(third), star.id)
    assert await cached(clean, me.id) == ["h"]
    worker = await run_feed_worker_until_idle(clean, deps)
    assert (worker.jobs_complete, worker.jobs_failed) == (1, 0)
    assert await cached(clean, me.id) == ["h", str(post)]


async def test_chronological_paging_never_repeats_or_skips_when_posts_arrive(
    clean: Resources,
) -> None:
    deps = feed_deps(clean, celebrity_follower_threshold=2, max_entries=4)
    me, a, star, fan = await users(clean, "me", "a", "star", "fan")
    await insert_follows(clean.db, [(me.id, a.id), (me.id, star.id), (fan.id, star.id)])
    await read_all(deps, me.id)
    authors = [a, star, me]
    posts = []
    for minute in range(10):
        post = await insert_post(clean.db, authors[minute % 3].id, at(minute))
        await feed.fan_out_post(deps, post)
        posts.append(post)
    # Two posts at the very same time: the id decides.
    same_time = await insert_post(clean.db, a.id, at(4))
    await feed.fan_out_post(deps, same_time)
    expected = [*posts[::-1][:5], same_time, *posts[::-1][5:]]

    seen: list[int] = []
    after = None
    minute = 100
    while True:
        page = await feed.read_feed_ids(deps, me.id, first=3, after=after, order=CHRONO)
        seen += [post_id for _, post_id in page.edges]
        for author in authors:  # newer posts arrive between pages
            await feed.fan_out_post(deps, await insert_post(clean.db, author.id, at(minute)))
            minute += 1
        if not page.has_next_page:
            break
        after = page.edges[-1][0]
    assert seen == expected


async def test_ranked_paging_is_stable_complete_and_expires_clearly(clean: Resources) -> None:
    deps = feed_deps(clean, ranked_window=4)
    me, a, b = await users(clean, "me", "a", "b")
    await insert_follows(clean.db, [(me.id, a.id), (me.id, b.id)])
    posts = [await insert_post(clean.db, (a, b)[m % 2].id, at(m)) for m in range(7)]
    ranked = feed.FeedOrder.RANKED
    now = at(10)

    seen: list[int] = []
    after = None
    minute = 20
    cursors = []
    while True:
        page = await feed.read_feed_ids(deps, me.id, first=2, after=after, order=ranked, now=now)
        seen += [post_id for _, post_id in page.edges]
        cursors += [cursor for cursor, _ in page.edges]
        new = await insert_post(clean.db, a.id, at(minute), likes=1000)
        await feed.fan_out_post(deps, new)
        minute += 1
        if not page.has_next_page:
            break
        after = page.edges[-1][0]
    assert sorted(seen) == posts
    assert len(seen) == len(set(seen)) == 7

    snapshot = decode(cursors[0], FeedSnapshotCursor, FeedTailCursor)
    assert isinstance(snapshot, FeedSnapshotCursor)
    await clean.redis.delete(redis_keys.feed_ranked_snapshot(me.id, snapshot.snapshot_id))
    with pytest.raises(InvalidArgumentError, match="expired"):
        await feed.read_feed_ids(deps, me.id, first=2, after=cursors[0], order=ranked)
    with pytest.raises(InvalidArgumentError):
        await feed.read_feed_ids(deps, me.id, first=2, after=cursors[0], order=CHRONO)


async def test_ranked_order_follows_affinity_and_drops_deleted_posts(clean: Resources) -> None:
    deps = feed_deps(clean)
    me, liked, other = await users(clean, "me", "liked", "other")
    await insert_follows(clean.db, [(me.id, liked.id), (me.id, other.id)])
    old = await insert_post(clean.db, liked.id, at(0))
    newer = [await insert_post(clean.db, other.id, at(m)) for m in (50, 51)]
    recent_like = await insert_post(clean.db, liked.id, at(1))
    now = at(60)
    await insert_like(clean.db, recent_like, me.id, now - timedelta(days=1))
    page = await feed.read_feed_ids(
        deps, me.id, first=1, after=None, order=FeedOrder.RANKED, now=now
    )
    # Without the like, the two newer posts of `other` would come first.
    assert [post_id for _, post_id in page.edges] == [recent_like]
    await delete_post(clean.db, newer[1])
    rest = await feed.read_feed_ids(
        deps, me.id, first=10, after=page.edges[0][0], order=FeedOrder.RANKED, now=now
    )
    assert [post_id for _, post_id in rest.edges] == [old, newer[0]]
    assert not rest.has_next_page


async def shown(clean: Resources, user_id: int) -> frozenset[int]:
    """The posts the user's feed has shown them, as the RANKED window reads them (with the
    cached feed's read)."""
    window = await feeds.read_window(
        clean.redis, user_id, at_most=None, count=1, ttl_seconds=60, with_shown=True
    )
    return window.shown


async def test_posts_already_shown_sink_on_the_next_ranked_first_page(clean: Resources) -> None:
    deps = feed_deps(clean)
    me, friend = await users(clean, "me", "friend")
    await insert_follows(clean.db, [(me.id, friend.id)])
    posts = [await insert_post(clean.db, friend.id, at(m)) for m in range(4)]  # newest last
    now = at(30)
    ranked = FeedOrder.RANKED

    first = await feed.read_feed_ids(deps, me.id, first=2, after=None, order=ranked, now=now)
    assert [post_id for _, post_id in first.edges] == [posts[3], posts[2]]
    assert await shown(clean, me.id) == {posts[3], posts[2]}

    # Reloading: the two shown posts lose W_SEEN (2 points); the unseen ones come first.
    again = await feed.read_feed_ids(deps, me.id, first=4, after=None, order=ranked, now=now)
    assert [post_id for _, post_id in again.edges] == [posts[1], posts[0], posts[3], posts[2]]

    # Time order knows nothing of it, but what it shows counts as shown too.
    await clean.redis.delete(redis_keys.feed_impressions(me.id))
    chrono = await feed.read_feed_ids(deps, me.id, first=1, after=None, order=CHRONO, now=now)
    assert [post_id for _, post_id in chrono.edges] == [posts[3]]
    assert await shown(clean, me.id) == {posts[3]}


async def test_impressions_keep_the_newest_and_expire(clean: Resources) -> None:
    await clean.redis.set(redis_keys.post_like_count(2), 5)
    counters = await feeds.record_impressions(
        clean.redis, 7, [1, 2, 3], now_ms=1000, keep=5, ttl_seconds=60
    )
    # the like counters (with their versions: none yet), read in the same call
    assert [counter.value for counter in counters] == [None, 5, None]
    assert [counter.version for counter in counters] == [None, None, None]
    await feeds.record_impressions(clean.redis, 7, [4, 3], now_ms=2000, keep=5, ttl_seconds=90)
    key = redis_keys.feed_impressions(7)
    # Room is made first: never more than five. 3 keeps its first showing.
    assert await clean.redis.zrange(key, 0, -1, withscores=True) == [
        (b"1", 1000.0),
        (b"2", 1000.0),
        (b"3", 1000.0),
        (b"4", 2000.0),
    ]
    await feeds.record_impressions(clean.redis, 7, [5, 6], now_ms=3000, keep=5, ttl_seconds=90)
    assert await clean.redis.zrange(key, 0, -1) == [b"2", b"3", b"4", b"5", b"6"]
    assert 60 < await clean.redis.ttl(key) <= 90
    assert await clean.redis.object("encoding", key) == b"listpack"
    assert await shown(clean, 7) == {2, 3, 4, 5, 6}
    assert await shown(clean, 8) == frozenset()


async def test_a_page_comes_with_the_like_counters_of_its_posts(clean: Resources) -> None:
    deps = feed_deps(clean)
    me, friend = await users(clean, "me", "friend")
    await insert_follows(clean.db, [(me.id, friend.id)])
    older, newer = [await insert_post(clean.db, friend.id, at(m)) for m in range(2)]
    await clean.redis.set(redis_keys.post_like_count(older), 3)
    page = await feed.read_feed_ids(deps, me.id, first=2, after=None, order=CHRONO)
    assert [post_id for _, post_id in page.edges] == [newer, older]
    # None: no counter yet (read_feed recounts it)
    assert [counter.value for counter in page.like_counters] == [None, 3]


async def test_a_page_is_assembled_with_what_its_posts_show(clean: Resources) -> None:
    """read_feed returns the posts themselves, their authors, live like counts (recounted
    where Redis has none) and the viewer's likes, with the cursors of read_feed_ids."""
    deps = feed_deps(clean)
    me, friend = await users(clean, "me", "friend")
    await insert_follows(clean.db, [(me.id, friend.id)])
    older, newer = [await insert_post(clean.db, friend.id, at(m)) for m in range(2)]
    await insert_like(clean.db, older, me.id, at(3))
    await clean.redis.set(redis_keys.post_like_count(newer), 4)
    ids = await feed.read_feed_ids(deps, me.id, first=1, after=None, order=CHRONO)
    page = await feed.read_feed(deps, me.id, first=2, after=None, order=CHRONO)
    assert [
        (view.post.id, view.author.username, view.like_count, view.viewer_has_liked)
        for _, view in page.edges
    ] == [(newer, "friend", 4, False), (older, "friend", 1, True)]
    assert page.edges[0][0] == ids.edges[0][0]
    assert not page.has_next_page
    rest = await feed.read_feed(deps, me.id, first=2, after=ids.edges[0][0], order=CHRONO)
    assert [view.post.id for _, view in rest.edges] == [older]


async def test_bad_arguments_are_refused(clean: Resources) -> None:
    deps = feed_deps(clean)
    (me,) = await users(clean, "me")
    with pytest.raises(InvalidArgumentError):
        await feed.read_feed_ids(deps, me.id, first=101, after=None, order=CHRONO)
    for order in FeedOrder:
        with pytest.raises(InvalidArgumentError):
            await feed.read_feed_ids(deps, me.id, first=1, after="bm90LWEtY3Vyc29y", order=order)


async def test_a_page_of_the_cached_feed_comes_with_what_its_posts_show(clean: Resources) -> None:
    """The candidate query also reads the page's views; they are exactly what the posts' own
    view query reads. A page answered otherwise (the rebuild of a missing feed) has none."""
    deps = feed_deps(clean, celebrity_follower_threshold=3)
    author, star, reader, fan1, fan2 = await users(clean, "author", "star", "reader", "f1", "f2")
    await insert_follows(
        clean.db,
        [(reader.id, author.id)] + [(fan.id, star.id) for fan in (reader, fan1, fan2)],
    )
    fanned = [await insert_post(clean.db, author.id, at(minute)) for minute in (1, 3, 5)]
    pulled = [await insert_post(clean.db, star.id, at(minute)) for minute in (2, 4)]
    own = await insert_post(clean.db, reader.id, at(6))
    media_id = await make_media(clean.db, author.id)
    await insert_post_media(clean.db, fanned[2], [media_id], ["a lake"])
    await insert_like(clean.db, pulled[1], reader.id, at(7))
    rebuilt = await feed.read_feed_ids(deps, reader.id, first=4, after=None, order=CHRONO)
    assert len(rebuilt.edges) == 4
    assert rebuilt.views is None  # the feed was missing: rebuilt from PostgreSQL, views unread

    page = await feed.read_feed_ids(deps, reader.id, first=4, after=None, order=CHRONO)
    page_ids = [post_id for _, post_id in page.edges]
    assert page_ids == [own, fanned[2], pulled[1], fanned[1]]
    assert page.views == await fetch_post_views(clean.db, page_ids, reader.id)
    # Read by position, the records are those read by column name.
    by_id = {post.id: post for post in await fetch_posts_by_ids(clean.db, page_ids)}
    assert [view.post for view in page.views] == [by_id[post_id] for post_id in page_ids]
    users_now = {
        user.id: user
        for user in await fetch_users_by_ids(clean.db, [reader.id, star.id, author.id])
    }
    assert [view.author for view in page.views] == [
        users_now[user.id] for user in (reader, author, star, author)
    ]
    assert [view.viewer_has_liked for view in page.views] == [False, False, True, False]
    assert [(media.id, alt) for media, alt in page.views[1].media] == [(media_id, "a lake")]
    rest = await feed.read_feed_ids(deps, reader.id, first=4, after=page.edges[-1][0], order=CHRONO)
    rest_ids = [post_id for _, post_id in rest.edges]
    assert rest_ids == [pulled[0], fanned[0]]
    assert rest.views == await fetch_post_views(clean.db, rest_ids, reader.id)
