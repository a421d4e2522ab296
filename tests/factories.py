"""Test data written straight through the storage layer (fast: no password hashing)."""

from __future__ import annotations

import dataclasses
import uuid

from resources import Resources
from services.auth import Viewer
from services.social import SocialDeps
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


async def make_media(db: Db, owner_id: int, *, status: str = "READY") -> int:
    """A media row in the given status, as if uploaded and processed (no files)."""
    media_id = await db.fetchval(
        """
        INSERT INTO media (owner_id, kind, status, declared_content_type, byte_size,
                           original_filename, content_type, width, height, blurhash, variants)
        VALUES ($1, 'IMAGE', $2, 'image/jpeg', 1000, 'f.jpg', 'image/jpeg', 1080, 1080,
                'LKO2?U%2Tw=w',
                '[{"name": "1080", "key": "media/x/1080.jpg", "width": 1080, "height": 1080,
                   "content_type": "image/jpeg"}]')
        RETURNING id
        """,
        owner_id,
        status,
    )
    assert isinstance(media_id, int)
    return media_id


def social_on(resources: Resources, db: Db) -> SocialDeps:
    """The app's social dependencies, but on `db` (e.g. a connection rolled back after the test)."""
    return dataclasses.replace(
        resources.social, db=db, feed=dataclasses.replace(resources.feed, db=db)
    )
