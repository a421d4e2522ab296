"""Automatic persisted queries in Redis: the text of each registered document under the SHA-256
of that text, with a TTL renewed whenever a client registers it again."""

from __future__ import annotations

from redis.asyncio import Redis

from storage import redis_keys


async def fetch_persisted_query(redis: Redis, sha256_hex: str) -> str | None:
    """The registered document text for this hash (lowercase hex), or None. Side effects: none."""
    text: bytes | str | None = await redis.get(redis_keys.persisted_query(sha256_hex))
    if text is None:
        return None
    return text.decode() if isinstance(text, bytes) else text


async def store_persisted_query(
    redis: Redis, sha256_hex: str, text: str, *, ttl_seconds: int
) -> None:
    """Register `text` under its hash. The caller has checked that the hash is the SHA-256 of
    `text`. Side effects: one SET with a TTL (overwriting and renewing an existing entry)."""
    await redis.set(redis_keys.persisted_query(sha256_hex), text, ex=ttl_seconds)
