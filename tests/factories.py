"""Test data written straight through the storage layer (fast: no password hashing)."""

from __future__ import annotations

import uuid

from services.auth import Viewer
from storage.pg import Db
from storage.pg import users as user_store
from storage.pg.users import UserRecord


async def make_user(db: Db, username: str, *, full_name: str | None = None) -> UserRecord:
    user = await user_store.insert_user(
        db,
        username=username,
        email=f"{username}@example.com",
        password_hash="$argon2id$not-a-real-hash",
        full_name=full_name,
    )
    assert user is not None, f"user {username} exists already"
    return user


def viewer_of(user: UserRecord) -> Viewer:
    return Viewer(user_id=user.id, session_id=uuid.uuid4())
