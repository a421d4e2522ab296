"""Enqueueing search-index jobs (run after the commit; see workers/search_jobs.py). Job ids are
deterministic per event, so enqueueing one event twice indexes once."""

from __future__ import annotations

from collections.abc import Sequence

from arq.connections import ArqRedis

INDEX_POST = "search_index_post"
INDEX_USER = "search_index_user"


async def enqueue_index_post(
    queue: ArqRedis, post_id: int, event: str, hashtags: Sequence[str]
) -> bool:
    """Queue re-indexing one post (`event`: published, edited:<version>, deleted) and the tags
    whose counts it changed; False when this event's job is already queued or done."""
    job = await queue.enqueue_job(
        INDEX_POST, post_id, list(hashtags), _job_id=f"{INDEX_POST}:{post_id}:{event}"
    )
    return job is not None


async def enqueue_index_user(queue: ArqRedis, user_id: int, version: str) -> bool:
    """Queue re-indexing one user's profile; `version` (e.g. its updated_at) tells changes apart."""
    job = await queue.enqueue_job(INDEX_USER, user_id, _job_id=f"{INDEX_USER}:{user_id}:{version}")
    return job is not None
