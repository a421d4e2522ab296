"""Redis keys an erased account leaves behind, and how they go (services/erasure.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence
from typing import cast

from arq.constants import default_queue_name, job_key_prefix, result_key_prefix
from redis.asyncio import Redis

from storage import redis_keys

SCAN_COUNT = 500


async def forget_like_counters(redis: Redis, post_ids: Sequence[int]) -> None:
    """Drop the like counters (value, version, pending mark) of erased posts and their flush
    marks. Side effect: one pipeline."""
    if not post_ids:
        return
    async with redis.pipeline(transaction=False) as pipe:
        for post_id in post_ids:
            pipe.delete(
                redis_keys.post_like_count(post_id),
                redis_keys.post_like_version(post_id),
                redis_keys.post_like_pending(post_id),
            )
        pipe.srem(redis_keys.LIKE_COUNTS_DIRTY, *[str(post_id) for post_id in post_ids])
        await pipe.execute()


async def forget_user_keys(redis: Redis, user_id: int) -> int:
    """Delete every key of `redis_keys.user_key_patterns`. Returns how many went."""
    removed = 0
    for pattern in redis_keys.user_key_patterns(user_id):
        removed += await _delete_matching(redis, pattern)
    return removed


async def forget_finished_jobs(redis: Redis, user_id: int, job_names: Iterable[str]) -> int:
    """Delete the kept results (`arq:result:<job id>`) of these jobs whose ids name the user
    (one of the id's colon-separated parts is the user's id): their ids and arguments carry
    it. Returns how many went."""
    removed = 0
    wanted = str(user_id).encode()
    for name in job_names:
        prefix = f"{result_key_prefix}{name}:"
        async for batch in _scan_batches(redis, prefix + "*"):
            naming = [key for key in batch if wanted in key[len(prefix) :].split(b":")]
            if naming:
                removed += await cast(Awaitable[int], redis.delete(*naming))
    return removed


async def forget_queued_jobs(redis: Redis, user_id: int, job_name: str) -> int:
    """Drop the queued (deferred) jobs `<job_name>:<user id>:...` from arq's queue: an erased
    account's later-scheduled erasure has nothing left to do. Returns how many went."""
    removed = 0
    async for batch in _scan_batches(redis, f"{job_key_prefix}{job_name}:{user_id}:*"):
        job_ids = [key.removeprefix(job_key_prefix.encode()) for key in batch]
        await cast(Awaitable[int], redis.zrem(default_queue_name, *job_ids))
        removed += await cast(Awaitable[int], redis.delete(*batch))
    return removed


async def _delete_matching(redis: Redis, pattern: str) -> int:
    removed = 0
    async for batch in _scan_batches(redis, pattern):
        removed += await cast(Awaitable[int], redis.delete(*batch))
    return removed


async def _scan_batches(redis: Redis, pattern: str) -> AsyncIterator[list[bytes]]:
    batch: list[bytes] = []
    async for key in redis.scan_iter(match=pattern, count=SCAN_COUNT):
        batch.append(key)
        if len(batch) >= SCAN_COUNT:
            yield batch
            batch = []
    if batch:
        yield batch
