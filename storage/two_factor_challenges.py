"""Two-factor log-in challenges in Redis: the SHA-256 of a random challenge maps to the user it
was issued to, until it expires or is taken (once)."""

from __future__ import annotations

from redis.asyncio import Redis

from storage import redis_keys


async def store_challenge(redis: Redis, digest: str, user_id: int, *, ttl_seconds: int) -> None:
    """Side effect: one key, expiring after `ttl_seconds`."""
    await redis.set(redis_keys.two_factor_challenge(digest), str(user_id), ex=ttl_seconds)


async def challenge_user(redis: Redis, digest: str) -> int | None:
    """The user the live challenge was issued to; None when unknown, taken or expired."""
    value = await redis.get(redis_keys.two_factor_challenge(digest))
    return int(value) if value is not None else None


async def take_challenge(redis: Redis, digest: str) -> bool:
    """Use the challenge up: True for the one caller that deleted it, False for any other."""
    return bool(await redis.delete(redis_keys.two_factor_challenge(digest)))
