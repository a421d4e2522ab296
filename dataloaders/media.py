"""Batch loaders about media."""

from __future__ import annotations

from collections.abc import Sequence

from services.media import fetch_visible_media
from storage.pg import Db
from storage.pg.media import MediaRecord


async def load_visible_media_by_id(
    db: Db, viewer_id: int | None, ids: Sequence[int]
) -> list[MediaRecord | None]:
    """The media of `ids` the viewer may see (services.media.fetch_visible_media), None for
    the others and for missing ids."""
    found = {media.id: media for media in await fetch_visible_media(db, viewer_id, ids)}
    return [found.get(media_id) for media_id in ids]
