"""Erasing an account once its deletion took effect (services.leaving schedules it; the
erase_account job and the erase_due_accounts cron run it). docs/accounts.md, "Leaving", lists
what goes and what cannot.

Resumable: every step works in batches (its own short transactions) and is idempotent, and the
account's row goes last, so a crashed or retried job starts again from the top and finds only
what is left. Each step takes the same path the user's own action would have taken where
counters are involved: likes go one by one inside the race-free Redis bracket
(storage.counters.like_change), follows under lock_pair (users locked in id order) with both
counts adjusted, comments uncounted from their posts, notification events retracted from the
other users' groups (retract_actor_events), hashtags untagged (counts - 1 exactly once). Media
files go through services.media.file_keys, the path post deletion uses, so every stored
variant of a media item is covered.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from arq.connections import ArqRedis

from services import media
from services.feed import fan_out
from services.feed.deps import FeedDeps
from storage import counters, erased_keys, jobs
from storage.blobs import BlobStore
from storage.feed import cache as feed_cache
from storage.feed import sql as feed_sql
from storage.micros import micros_of
from storage.pg import Db, transaction
from storage.pg import follows as follow_store
from storage.pg import hashtags as hashtag_store
from storage.pg import leaving as leaving_store
from storage.pg import media as media_store
from storage.pg import profile_pictures as picture_store
from storage.pg import sessions as session_store
from storage.revocations import mark_session_revoked
from storage.search import SearchBackend
from storage.search.jobs import INDEX_USER

log = logging.getLogger("shutter.erasure")

BATCH = 200
"""Rows per batch (and per transaction) of every step."""

USER_JOBS = (
    INDEX_USER,
    jobs.FAN_OUT_AUTHOR,
    jobs.FAN_OUT_AUTHOR_BATCH,
    jobs.FAN_OUT_BATCH,
    jobs.CLEAN_FEEDS_AFTER_BLOCK,
    jobs.APPROVE_FOLLOW_REQUESTS,
    jobs.ERASE_ACCOUNT,
    jobs.EXPORT_DATA,
)
"""Jobs whose ids name users: their kept results are forgotten with the account."""


@dataclass(frozen=True, slots=True)
class ErasureDeps:
    db: Db
    redis: ArqRedis
    """Redis: keys, counters and the arq queue."""
    blobs: BlobStore
    search: SearchBackend
    feed: FeedDeps
    access_token_ttl_seconds: int


async def erase_due_accounts(deps: ErasureDeps, *, limit: int = 100) -> int:
    """Cron: queue the erasure of accounts whose deletion took effect (a safety net behind the
    deferred erase_account jobs, should Redis have lost one). Returns how many were queued."""
    queued = 0
    for user_id, erase_after in await leaving_store.fetch_due_erasures(deps.db, limit=limit):
        queued += await jobs.enqueue_erase_account(deps.redis, user_id, micros_of(erase_after))
    return queued


class MoreToEraseError(Exception):
    """The time budget ran out between two batches: run again to continue (the job does)."""


def _check_time(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise MoreToEraseError


async def erase_account(
    deps: ErasureDeps, user_id: int, *, time_budget_seconds: float | None = None
) -> bool:
    """Erase the account if its deletion took effect (else nothing: cancelled by a log-in, not
    due, or gone). Returns whether it erased it. Idempotent and resumable (module docstring).
    Raises MoreToEraseError once `time_budget_seconds` is spent between two batches (a job's
    time limit stays short: arq hands a dead worker's jobs over only after the longest one).

    Side effects: everything of the account leaves PostgreSQL, Redis, the blob store and the
    search index; other users' counters are adjusted exactly."""
    async with transaction(deps.db) as conn:
        claimed = await leaving_store.claim_erasure(conn, user_id)
        ended = (
            await session_store.revoke_user_sessions(conn, user_id, reason="account erased")
            if claimed
            else []
        )
    deadline = None if time_budget_seconds is None else time.monotonic() + time_budget_seconds
    if claimed is None:
        if await leaving_store.fetch_leaving_state(deps.db, user_id) == (None, None):
            await _forget_outside_postgres(deps, user_id)  # a crash after the last step
        return False
    for session_id in ended:
        await mark_session_revoked(
            deps.redis, session_id, ttl_seconds=deps.access_token_ttl_seconds
        )
    await _erase_posts(deps, user_id, deadline)
    await _erase_remaining_media(deps, user_id, deadline)
    await _erase_profile_picture(deps, user_id)
    while await leaving_store.delete_comment_batch(deps.db, user_id, limit=BATCH):
        _check_time(deadline)
    await _erase_likes(deps, user_id, deadline)
    await _erase_notifications(deps, user_id, deadline)
    await _erase_follows(deps, user_id, deadline)
    await leaving_store.delete_relations(deps.db, user_id)
    await leaving_store.delete_ranker_log(deps.db, user_id)
    await deps.blobs.delete(await leaving_store.fetch_export_keys(deps.db, user_id))
    await leaving_store.delete_account(deps.db, user_id)
    await _forget_outside_postgres(deps, user_id)
    log.info("erased account %s", user_id)
    return True


async def _forget_outside_postgres(deps: ErasureDeps, user_id: int) -> None:
    """Once the user's row is gone: their search document, their Redis keys (own feed,
    snapshots, limits, budget) and the kept results of jobs that named them."""
    await deps.search.index_users([user_id])
    await erased_keys.forget_user_keys(deps.redis, user_id)
    await erased_keys.forget_finished_jobs(deps.redis, user_id, USER_JOBS)
    await erased_keys.forget_queued_jobs(deps.redis, user_id, jobs.ERASE_ACCOUNT)


async def _erase_posts(deps: ErasureDeps, user_id: int, deadline: float | None) -> None:
    """Each batch of posts: files first, then out of followers' feeds, untagged and marked
    DELETED (search documents then removed), then the rows (cascading to their likes,
    comments, media links and the notifications about them) and their counters."""
    while post_ids := await leaving_store.fetch_post_batch(deps.db, user_id, limit=BATCH):
        _check_time(deadline)
        media_ids = await leaving_store.fetch_media_ids_of_posts(deps.db, post_ids)
        await _delete_media_files(deps, media_ids)
        await _remove_from_followers_feeds(deps, user_id, post_ids)
        tags: set[str] = set()
        async with transaction(deps.db) as conn:
            for post_id in post_ids:
                tags.update(await hashtag_store.fetch_post_hashtag_names(conn, post_id))
                await hashtag_store.remove_post_hashtags(conn, post_id)
            await leaving_store.mark_posts_deleted(conn, post_ids)
        await deps.search.index_posts(post_ids)
        if tags:
            await deps.search.index_hashtags(sorted(tags))
        async with transaction(deps.db) as conn:
            await leaving_store.delete_posts(conn, post_ids, media_ids)
        await erased_keys.forget_like_counters(deps.redis, post_ids)


async def _remove_from_followers_feeds(
    deps: ErasureDeps, user_id: int, post_ids: list[int]
) -> None:
    after = 0
    while followers := await leaving_store.fetch_follower_ids(
        deps.db, user_id, after=after, limit=BATCH
    ):
        for follower_id in followers:
            await feed_cache.remove_posts(deps.redis, follower_id, post_ids)
        after = followers[-1]


async def _delete_media_files(deps: ErasureDeps, media_ids: list[int]) -> None:
    records = await media_store.fetch_media_by_ids(deps.db, media_ids)
    keys = [key for record in records for key in media.file_keys(record)]
    if keys:
        await deps.blobs.delete(keys)


async def _erase_remaining_media(deps: ErasureDeps, user_id: int, deadline: float | None) -> None:
    """Drafts, uploads in progress (a late PUT's object included: file_keys names the upload
    key), refused media and the sources of profile pictures."""
    while media_ids := await leaving_store.fetch_own_media_batch(deps.db, user_id, limit=BATCH):
        _check_time(deadline)
        await _delete_media_files(deps, media_ids)
        await leaving_store.delete_media(deps.db, media_ids)


async def _erase_profile_picture(deps: ErasureDeps, user_id: int) -> None:
    crops = (await picture_store.fetch_pictures(deps.db, [user_id])).get(user_id, ())
    if crops:
        await deps.blobs.delete([crop.key for crop in crops])
    await picture_store.delete_picture(deps.db, user_id)


async def _erase_likes(deps: ErasureDeps, user_id: int, deadline: float | None) -> None:
    """One like at a time inside the counter's bracket, as unlike_post does: the Redis counter
    moves by exactly one and the post is marked for the flush into posts.like_count."""
    while post_ids := await leaving_store.fetch_liked_post_batch(deps.db, user_id, limit=BATCH):
        _check_time(deadline)
        for post_id in post_ids:
            async with counters.like_change(deps.redis, post_id) as counted:
                deleted = await leaving_store.delete_like(deps.db, post_id, user_id)
                counted.delta = -1 if deleted else 0


async def _erase_notifications(deps: ErasureDeps, user_id: int, deadline: float | None) -> None:
    """Their events leave the other users' groups (counts and faces recomputed, empty groups
    gone), then their own notifications go."""
    while recipients := await leaving_store.fetch_recipients_of_actor(
        deps.db, user_id, limit=BATCH
    ):
        _check_time(deadline)
        for recipient_id in recipients:
            async with transaction(deps.db) as conn:
                await leaving_store.retract_actor_events(conn, recipient_id, user_id)
    while await leaving_store.delete_own_notification_batch(deps.db, user_id, limit=BATCH):
        pass


async def _erase_follows(deps: ErasureDeps, user_id: int, deadline: float | None) -> None:
    """Each follow, either way, as an unfollow: both users locked in id order, the row
    deleted, both counts - 1. An account that lost a follower and fell below the celebrity
    threshold gets its posts fanned out, as after an unfollow."""
    while pairs := await leaving_store.fetch_follow_batch(deps.db, user_id, limit=BATCH):
        _check_time(deadline)
        for follower_id, followee_id in pairs:
            async with transaction(deps.db) as conn:
                await follow_store.lock_pair(conn, follower_id, followee_id)
                deleted = await follow_store.delete_follow(conn, follower_id, followee_id)
                if deleted:
                    await follow_store.adjust_follow_counts(conn, follower_id, followee_id, -1)
            if deleted and follower_id == user_id:
                await fan_out.follower_lost(
                    deps.feed,
                    followee_id,
                    followee_follower_count=await feed_sql.fetch_follower_count(
                        deps.db, followee_id
                    ),
                )
