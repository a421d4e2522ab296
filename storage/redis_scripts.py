"""Server-side Lua scripts, each built once per client rather than on every call."""

from __future__ import annotations

import functools

from redis.asyncio import Redis
from redis.commands.core import AsyncScript


@functools.lru_cache(maxsize=64)
def script(redis: Redis, source: str) -> AsyncScript:
    """`redis.register_script(source)`, cached per (client, script): registering encodes and
    hashes the whole text, which hot paths (a query budget per request, a feed read per page)
    need not repeat. Calling the result sends EVALSHA, loading the script once per server. The
    cache keeps at most 64 of them (a process has a client or two, and a few scripts)."""
    return redis.register_script(source)
