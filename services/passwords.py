"""Password hashing with argon2id (argon2-cffi). Hashing is deliberately slow, so it runs in a
worker thread and never blocks the event loop."""

from __future__ import annotations

import asyncio

import argon2
from argon2.exceptions import InvalidHashError, VerificationError


class Passwords:
    """Hashes and checks passwords with the configured argon2id cost."""

    def __init__(self, *, time_cost: int, memory_kib: int) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, type=argon2.Type.ID
        )
        # Checked against when the account does not exist, so that a failed log-in costs the same
        # time whether or not the username is known (no account enumeration by timing).
        self._decoy_hash = self._hasher.hash("decoy password, never matches")

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True when `password` matches; with no hash (unknown account) spends the same time."""
        candidate = password_hash if password_hash is not None else self._decoy_hash
        try:
            matched = await asyncio.to_thread(self._hasher.verify, candidate, password)
        except (VerificationError, InvalidHashError):
            return False
        return matched and password_hash is not None

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with other parameters than the current ones."""
        return self._hasher.check_needs_rehash(password_hash)
