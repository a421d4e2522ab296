"""Explore snapshots in Redis: the ranked post ids of one paging session, 8 bytes each."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from storage import redis_keys

_ID = struct.Struct(">q")


@dataclass(frozen=True, slots=True)
class SnapshotSlice:
    ids: list[int]
    total: int


async def save_snapshot(
    redis: Redis, viewer_id: int | None, snapshot_id: str, ids: Sequence[int], *, ttl_seconds: int
) -> None:
    """Side effect: one key with a TTL (an empty list is stored too: it marks the session)."""
    body = b"".join(_ID.pack(post_id) for post_id in ids)
    await redis.set(
        redis_keys.explore_snapshot(viewer_id, snapshot_id), b"S" + body, ex=ttl_seconds
    )


async def read_snapshot(
    redis: Redis, viewer_id: int | None, snapshot_id: str, *, offset: int, count: int
) -> SnapshotSlice | None:
    """`count` ids from `offset` (one round trip); None when the snapshot has expired."""
    key = redis_keys.explore_snapshot(viewer_id, snapshot_id)
    start = 1 + offset * _ID.size
    async with redis.pipeline(transaction=False) as pipe:
        pipe.getrange(key, start, start + count * _ID.size - 1)
        pipe.strlen(key)
        body, length = await pipe.execute()
    if length == 0:
        return None
    ids = [value for (value,) in _ID.iter_unpack(body)] if count > 0 else []
    return SnapshotSlice(ids=ids, total=(length - 1) // _ID.size)
