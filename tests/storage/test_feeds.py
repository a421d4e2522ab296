"""The Redis side of the feed (storage.feed.cache) on the test Valkey: scores, the horizon and
building states, script writes with and without declared keys, snapshots, Cluster grouping."""

from __future__ import annotations

from datetime import UTC, datetime

from redis.crc import key_slot

from resources import Resources
from storage import redis_keys
from storage.feed import cache as feeds
from storage.feed.cache import FeedState
from storage.micros import datetime_of, micros_of

T = micros_of(datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC))


async def members(resources: Resources, user_id: int) -> list[tuple[str, int]]:
    raw = await resources.redis.zrange(redis_keys.feed(user_id), 0, -1, withscores=True)
    return [(member.decode(), feeds.micros_of_score(score)) for member, score in raw]


def test_scores_keep_microseconds_exactly() -> None:
    for micros in (0, T, T + 1, micros_of(datetime(2108, 12, 31, 23, 59, 59, 999999, tzinfo=UTC))):
        assert feeds.micros_of_score(feeds.score_of(micros)) == micros
        assert feeds.micros_of_score(float(feeds.score_of(micros))) == micros
    assert float(feeds.score_of(T)) < float(feeds.score_of(T + 1))
    assert datetime_of(T) == datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


async def test_a_missing_feed_is_skipped_and_a_building_one_collects_writes(
    clean: Resources,
) -> None:
    redis = clean.redis
    assert await feeds.merge_entries(redis, [1], [(T, 10)], max_entries=5) == 0
    assert (await feeds.read_window(redis, 1, at_most=None, count=5, ttl_seconds=60)).state is (
        FeedState.MISSING
    )
    assert await feeds.start_rebuild(redis, 1)
    assert not await feeds.start_rebuild(redis, 1)
    assert (await feeds.read_window(redis, 1, at_most=None, count=5, ttl_seconds=60)).state is (
        FeedState.BUILDING
    )
    # A fan-out during the rebuild is kept; the rebuilt entries come with their horizon.
    assert await feeds.merge_entries(redis, [1], [(T + 50, 13)], max_entries=5) == 1
    assert await feeds.install_feed(
        redis, 1, [(T + 20, 12), (T + 10, 11)], horizon_micros=T, max_entries=5, ttl_seconds=60
    )
    assert await members(clean, 1) == [("h", T), ("11", T + 10), ("12", T + 20), ("13", T + 50)]
    window = await feeds.read_window(redis, 1, at_most=(T + 20, 12), count=5, ttl_seconds=60)
    assert window == feeds.FeedWindow(FeedState.LIVE, T, [(T + 20, 12), (T + 10, 11)])
    # Installing where the placeholder has vanished writes nothing.
    assert not await feeds.install_feed(
        redis, 2, [(T, 1)], horizon_micros=0, max_entries=5, ttl_seconds=60
    )
    assert not await redis.exists(redis_keys.feed(2))


async def test_merging_respects_and_raises_the_horizon_and_trims(clean: Resources) -> None:
    redis = clean.redis
    await feeds.create_live_feeds(
        redis, [7], [(T + 10, 1)], horizon_micros=T, max_entries=3, ttl_seconds=60
    )
    # At or below the horizon: not the cache's to hold.
    assert await feeds.merge_entries(redis, [7], [(T, 2), (T - 5, 3)], max_entries=3) == 0
    added = await feeds.merge_entries(
        redis, [7], [(T + 40, 4), (T + 30, 5), (T + 20, 6)], max_entries=3
    )
    assert added == 3
    assert await members(clean, 7) == [("h", T + 10), ("6", T + 20), ("5", T + 30), ("4", T + 40)]
    # Complete only above T + 25: the horizon rises and what lies below it goes.
    assert (
        await feeds.merge_entries(redis, [7], [(T + 35, 8)], max_entries=3, complete_above=T + 25)
        == 1
    )
    assert await members(clean, 7) == [("h", T + 25), ("5", T + 30), ("8", T + 35), ("4", T + 40)]
    assert await feeds.remove_posts(redis, 7, [8, 99]) == 1
    assert await members(clean, 7) == [("h", T + 25), ("5", T + 30), ("4", T + 40)]


async def test_declared_keys_and_packed_ids_write_the_same(clean: Resources) -> None:
    redis = clean.redis
    users = [11, 12, 13]
    await feeds.create_live_feeds(
        redis, users, [], horizon_micros=0, max_entries=800, ttl_seconds=60
    )
    for declare in (True, False):
        written = await feeds.merge_entries(
            redis, users, [(T + declare, 100 + declare)], max_entries=800, declare_keys=declare
        )
        assert written == 3
    for user_id in users:
        assert await members(clean, user_id) == [("h", 0), ("100", T), ("101", T + 1)]


def test_grouping_by_slot_puts_each_group_on_one_slot() -> None:
    groups = feeds.group_by_slot(range(1, 2000))
    assert sorted(user_id for group in groups.values() for user_id in group) == list(range(1, 2000))
    for slot, group in groups.items():
        assert {key_slot(redis_keys.feed(user_id).encode()) for user_id in group} == {slot}
        assert group == sorted(group)
    # A user's keys share the slot of their feed.
    assert key_slot(redis_keys.feed_ranked_snapshot(5, "abc").encode()) == key_slot(
        redis_keys.feed(5).encode()
    )


async def test_ranked_snapshots_read_back_in_slices(clean: Resources) -> None:
    redis = clean.redis
    await feeds.save_ranked_snapshot(
        redis, 3, "snap", [5, 4, 9, 1], window_tail=(T, 1), ttl_seconds=60
    )
    found = await feeds.read_ranked_snapshot(redis, 3, "snap", offset=1, count=2)
    assert found == feeds.SnapshotSlice(ids=[4, 9], total=4, window_tail=(T, 1))
    found = await feeds.read_ranked_snapshot(redis, 3, "snap", offset=3, count=5)
    assert found == feeds.SnapshotSlice(ids=[1], total=4, window_tail=(T, 1))
    await feeds.save_ranked_snapshot(redis, 3, "all", [], window_tail=None, ttl_seconds=60)
    assert await feeds.read_ranked_snapshot(redis, 3, "all", offset=0, count=3) == (
        feeds.SnapshotSlice(ids=[], total=0, window_tail=None)
    )
    assert await feeds.read_ranked_snapshot(redis, 4, "snap", offset=0, count=3) is None
    assert 55 <= await redis.ttl(redis_keys.feed_ranked_snapshot(3, "snap")) <= 60
