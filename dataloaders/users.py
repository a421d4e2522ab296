"""Batch loaders about users: one query for N keys, results in key order."""

from __future__ import annotations

from collections.abc import Sequence

from services import profile_pictures, roles, visibility
from services.visibility import Relation
from storage.pg import Db
from storage.pg import follows as follow_store
from storage.pg import users as user_store
from storage.pg.media import StoredVariant
from storage.pg.users import UserRecord


async def load_users_by_id(db: Db, ids: Sequence[int]) -> list[UserRecord | None]:
    found = {user.id: user for user in await user_store.fetch_users_by_ids(db, ids)}
    return [found.get(user_id) for user_id in ids]


async def load_viewer_follows(db: Db, viewer_id: int | None, ids: Sequence[int]) -> list[bool]:
    """For each id: does the viewer follow that user (always False when anonymous)."""
    if viewer_id is None:
        return [False] * len(ids)
    followed = await follow_store.fetch_followees_among(db, viewer_id, ids)
    return [user_id in followed for user_id in ids]


async def load_follows_viewer(db: Db, viewer_id: int | None, ids: Sequence[int]) -> list[bool]:
    """For each id: does that user follow the viewer (always False when anonymous)."""
    if viewer_id is None:
        return [False] * len(ids)
    followers = await follow_store.fetch_followers_among(db, viewer_id, ids)
    return [user_id in followers for user_id in ids]


async def load_profile_pictures(db: Db, ids: Sequence[int]) -> list[tuple[StoredVariant, ...]]:
    """For each user id: the crops of their profile picture (empty when they have none)."""
    found = await profile_pictures.fetch_pictures(db, ids)
    return [found.get(user_id, ()) for user_id in ids]


async def load_relations(
    db: Db, viewer_id: int | None, ids: Sequence[int]
) -> list[Relation | None]:
    """For each id: how the viewer stands with that user (services.visibility); None when
    there is no such user."""
    found = await visibility.fetch_relations(db, viewer_id, ids)
    return [found.get(user_id) for user_id in ids]


async def load_staff_flags(db: Db, ids: Sequence[int]) -> list[bool]:
    """For each id: is that user a moderator or an admin (services.roles.staff_among)."""
    staff = await roles.staff_among(db, list(ids))
    return [user_id in staff for user_id in ids]
