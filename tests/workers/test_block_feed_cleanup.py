"""After a block, the `clean_feeds_after_block` job takes each side's posts out of the other's
cached feed, on a real burst arq worker; reads filter them before the job has run
(docs/privacy.md, Blocks)."""

from __future__ import annotations

from resources import Resources
from services import follows, safety
from services.feed import FeedOrder, read_feed
from settings import Settings
from storage import jobs, redis_keys
from storage.pg.users import UserRecord
from tests.conftest import run_worker_until_idle
from tests.factories import make_user, viewer_of
from tests.feed_factories import at, feed_deps, insert_post, social_with


async def cached(resources: Resources, user: UserRecord) -> set[int]:
    """The post ids held in the user's cached feed (its bookkeeping members left out)."""
    members = await resources.redis.zrange(redis_keys.feed(user.id), 0, -1)
    return {int(member) for member in members if member.isdigit()}


async def shown(resources: Resources, user: UserRecord) -> dict[FeedOrder, list[int]]:
    """The user's first feed page, in each order."""
    deps = feed_deps(resources)
    return {
        order: [
            view.post.id
            for _, view in (await read_feed(deps, user.id, first=20, after=None, order=order)).edges
        ]
        for order in FeedOrder
    }


async def test_the_job_takes_each_sides_posts_out_of_the_others_cached_feed(
    clean: Resources, settings: Settings
) -> None:
    db = clean.db
    inline = social_with(clean, feed_deps(clean))  # follows backfill the cached feeds at once
    ann, ben, cat = [await make_user(db, name) for name in ("ann", "ben", "cat")]
    posts: dict[int, list[int]] = {user.id: [] for user in (ann, ben, cat)}
    for minute, user in enumerate((ann, ben, cat) * 2):  # ids grow with publish time
        posts[user.id].append(await insert_post(db, user.id, at(minute)))
    for reader, author in ((ann, ben), (ann, cat), (ben, ann), (ben, cat)):
        await follows.follow_user(inline, viewer_of(reader), author.id)
    for reader, other in ((ann, ben), (ben, ann)):
        await read_feed(
            feed_deps(clean), reader.id, first=20, after=None, order=FeedOrder.CHRONOLOGICAL
        )
        assert await cached(clean, reader) == {*posts[reader.id], *posts[other.id], *posts[cat.id]}

    for blocker, blocked in ((ann, ben), (ben, ann), (ann, ben)):
        # The app's dependencies: the clean-up is a job, not done inline.
        await safety.block_user(clean.social, viewer_of(blocker), blocked.id)
        assert await jobs.queue_depth(clean.redis) == 1
        # Before the job: the entries are still cached, and no read shows them.
        for reader, other in ((ann, ben), (ben, ann)):
            assert set(posts[other.id]) <= await cached(clean, reader)
            expected = sorted([*posts[reader.id], *posts[cat.id]], reverse=True)
            pages = await shown(clean, reader)
            assert pages[FeedOrder.CHRONOLOGICAL] == expected
            assert sorted(pages[FeedOrder.RANKED], reverse=True) == expected

        await run_worker_until_idle(settings)
        for reader in (ann, ben):
            assert await cached(clean, reader) == {*posts[reader.id], *posts[cat.id]}
            pages = await shown(clean, reader)
            assert pages[FeedOrder.CHRONOLOGICAL] == sorted(
                [*posts[reader.id], *posts[cat.id]], reverse=True
            )
        # Unblock and follow again both ways (the posts come back to the cached feeds): the
        # next block must clean again, also the same block as one whose job result is
        # still kept.
        await safety.unblock_user(clean.social, viewer_of(blocker), blocked.id)
        for reader, author in ((ann, ben), (ben, ann)):
            await follows.follow_user(inline, viewer_of(reader), author.id)
            assert set(posts[author.id]) <= await cached(clean, reader)
