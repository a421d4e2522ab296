"""Likes: idempotent like/unlike, live counts from Redis with a PostgreSQL fallback, the
periodic flush of counters into `posts.like_count`, and the likers list."""

from __future__ import annotations

from collections.abc import Sequence

from redis.asyncio import Redis

from services import notifications, visibility
from services.auth import Viewer
from services.cursors import decode_time_id_cursor, encode_time_id_cursor
from services.errors import DomainError, UserErrorCode
from services.pagination import (
    Page,
    check_page_size,
    page_of,
)
from services.social import SocialDeps
from storage import counters
from storage.pg import Db
from storage.pg import likes as like_store
from storage.pg import posts as post_store
from storage.pg.users import UserRecord

FLUSH_BATCH = 1000


async def _published_post_id(db: Db, post_id: int) -> int:
    found = await post_store.fetch_posts_by_ids(db, [post_id])
    if not found or found[0].status != "PUBLISHED":
        raise DomainError.single(UserErrorCode.NOT_FOUND, "No such post.", "postId")
    return post_id


async def like_post(deps: SocialDeps, viewer: Viewer, post_id: int) -> bool:
    """Like a published post; liking again changes nothing. Returns whether a like was added.

    Raises DomainError NOT_FOUND (also a post the viewer may not see: services.visibility),
    BLOCKED (a post of an account the viewer blocked), RATE_LIMITED. Side effects, only when
    the like is new: a likes
    row and the author's LIKE notification in one statement, bracketed by the Redis counter's
    change (storage.counters.like_change: its version and pending mark move on every call);
    then the viewer's hourly/daily like allowance, the notification push and the post's live
    counts.
    """
    db, redis = deps.db, deps.redis
    await deps.ensure_allowed("like", viewer.user_id)
    await visibility.published_post_to_act_on(db, viewer.user_id, post_id)
    async with counters.like_change(redis, post_id) as counted:
        change = await like_store.insert_like(
            db, post_id, viewer.user_id, notification_window=notifications.AGGREGATION_WINDOW
        )
        counted.delta = 0 if change is None else 1
    if change is None:  # nothing changed: say why when it is not "already liked"
        await _published_post_id(db, post_id)
        return False
    await deps.count("like", viewer.user_id)
    await notifications.announce(
        redis, notifications.like_deliveries(change), counts_changed_on=post_id
    )
    return True


async def unlike_post(deps: SocialDeps, viewer: Viewer, post_id: int) -> bool:
    """Take a like back from a published post; unliking again changes nothing. Returns whether
    a like was removed.

    Raises DomainError NOT_FOUND when the post is not published (a deleted post's likes are
    left as they were). Side effects mirror like_post: the like leaves the author's LIKE
    notification too.
    """
    db, redis = deps.db, deps.redis
    await visibility.published_post_to_act_on(db, viewer.user_id, post_id)
    async with counters.like_change(redis, post_id) as counted:
        change = await like_store.delete_like(db, post_id, viewer.user_id)
        counted.delta = 0 if change is None else -1
    if change is None:
        await _published_post_id(db, post_id)
        return False
    await notifications.announce(
        redis, notifications.like_deliveries(change), counts_changed_on=post_id
    )
    return True


async def like_counts(
    db: Db,
    redis: Redis,
    post_ids: Sequence[int],
    *,
    redis_counters: Sequence[counters.LikeCounter] | None = None,
) -> list[int]:
    """Live like counts: the posts' Redis counters (`redis_counters` when already read, else
    one round trip); posts without a counter are recounted from the likes table (one query for
    all of them) and their counters filled unless a like or unlike was under way when the
    counters were read or began since (storage.counters: the refill is race-free)."""
    cached = redis_counters
    if cached is None:
        cached = await counters.read_like_counts(redis, post_ids)
    missing = {
        post_id: counter
        for post_id, counter in zip(post_ids, cached, strict=True)
        if counter.value is None
    }
    recounted: dict[int, int] = {}
    if missing:
        recounted = await like_store.count_likes(db, list(missing))
        await counters.fill_like_counts(
            redis,
            {
                post_id: (count, missing[post_id].version)
                for post_id, count in recounted.items()
                if missing[post_id].refillable
            },
        )
    return [
        counter.value if counter.value is not None else recounted[post_id]
        for post_id, counter in zip(post_ids, cached, strict=True)
    ]


async def flush_like_counts(db: Db, redis: Redis) -> int:
    """Write changed counters into `posts.like_count`; returns how many posts were written.

    A dirty post whose counter vanished is recounted from the likes table instead.
    """
    flushed = 0
    while True:
        dirty = await counters.take_dirty_like_counts(redis, FLUSH_BATCH)
        if not dirty:
            return flushed
        unknown = [post_id for post_id, count in dirty.items() if count is None]
        exact = await like_store.count_likes(db, unknown) if unknown else {}
        values = {
            post_id: count if count is not None else exact[post_id]
            for post_id, count in dirty.items()
        }
        await post_store.update_like_counts(db, values)
        flushed += len(values)


async def list_likers(
    db: Db, viewer_id: int | None, post_id: int, *, first: int, after: str | None
) -> Page[UserRecord]:
    """Who liked the post as the viewer may see them (none unless the post is visible to them;
    likers with a block between them and the viewer left out), most recent first."""
    limit = check_page_size(first)
    rows = await like_store.fetch_likers_page(
        db, post_id, viewer_id, limit=limit + 1, after=decode_time_id_cursor(after)
    )
    return page_of([(encode_time_id_cursor(*key), user) for key, user in rows], limit)
