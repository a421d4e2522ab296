"""Batch loaders about media."""

from __future__ import annotations

from collections.abc import Sequence

from storage.pg import Db
from storage.pg import media as media_store
from storage.pg.media import MediaRecord


async def load_media_by_id(db: Db, ids: Sequence[int]) -> list[MediaRecord | None]:
    found = {media.id: media for media in await media_store.fetch_media_by_ids(db, ids)}
    return [found.get(media_id) for media_id in ids]
