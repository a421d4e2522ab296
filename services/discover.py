"""Discover hooks: what publishing, editing or deleting a post, or changing a profile, does to
hashtags and the search index. Call them after the change has committed."""

from __future__ import annotations

import hashlib
from datetime import datetime

from arq.connections import ArqRedis

from services.hashtags import parse_hashtags
from storage.micros import micros_of
from storage.pg import Db, transaction
from storage.pg import hashtags as hashtag_store
from storage.pg.posts import PostRecord
from storage.search import jobs as search_jobs


async def on_post_published(db: Db, queue: ArqRedis, post: PostRecord) -> list[str]:
    """Tag the just-published post with its caption's hashtags (each tag's count + 1, exactly
    once however often this runs) and queue its search indexing. Returns the tags.

    Side effects: hashtags / post_hashtags rows and counts; one arq job. Nothing is tagged if
    the post is no longer PUBLISHED (deleted meanwhile).
    """
    names = await _tag(db, post, replace=False)
    await search_jobs.enqueue_index_post(queue, post.id, "published", names)
    return names


async def on_post_caption_changed(db: Db, queue: ArqRedis, post: PostRecord) -> list[str]:
    """Re-tag a published post after its caption changed: tags it lost count - 1, new ones + 1.
    Side effects as on_post_published (the job is keyed by `post.caption`'s content)."""
    before = await hashtag_store.fetch_post_hashtag_names(db, post.id)
    names = await _tag(db, post, replace=True)
    version = hashlib.blake2b((post.caption or "").encode(), digest_size=8).hexdigest()
    await search_jobs.enqueue_index_post(
        queue, post.id, f"edited:{version}", sorted(set(before) | set(names))
    )
    return names


async def on_post_deleted(db: Db, queue: ArqRedis, post_id: int) -> list[str]:
    """Untag a deleted post (each of its tags' counts - 1, exactly once) and queue its removal
    from the search index. Returns the tags it had. Side effects: as on_post_published."""
    names = await hashtag_store.fetch_post_hashtag_names(db, post_id)
    await hashtag_store.remove_post_hashtags(db, post_id)
    await search_jobs.enqueue_index_post(queue, post_id, "deleted", names)
    return names


async def on_profile_changed(queue: ArqRedis, user_id: int, changed_at: datetime) -> None:
    """Queue re-indexing a user whose username or full name may have changed (sign-up, profile
    update). Side effect: one arq job per distinct `changed_at`."""
    await search_jobs.enqueue_index_user(queue, user_id, str(micros_of(changed_at)))


async def _tag(db: Db, post: PostRecord, *, replace: bool) -> list[str]:
    names = parse_hashtags(post.caption)
    if post.status != "PUBLISHED" or post.published_at is None:
        return []
    if names:
        # Its own statement, before any lock is held: two posts creating the same new tag
        # inside their transactions could each wait for the other's insert.
        await hashtag_store.ensure_hashtags(db, names)
    async with transaction(db) as conn:
        if replace:
            await hashtag_store.lock_post_for_retagging(conn, post.id, names)
            await hashtag_store.remove_post_hashtags(conn, post.id, keep=names)
        if names:
            await hashtag_store.add_post_hashtags(conn, post.id, names, post.published_at)
    return names
