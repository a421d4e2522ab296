"""Records read by position: their fields must be the columns, in order."""

from __future__ import annotations

import asyncpg

from storage.pg.media import MediaRecord


async def test_media_composite_columns_are_the_record_fields(conn: asyncpg.Connection) -> None:
    """post_views reads `media` composite values (`SELECT m`) by position into MediaRecord: a
    migration adding a column to `media` must add the field to MediaRecord at the same place."""
    columns = await conn.fetch(
        """
        SELECT attname FROM pg_attribute
         WHERE attrelid = 'media'::regclass AND attnum > 0 AND NOT attisdropped
         ORDER BY attnum
        """
    )
    assert [row["attname"] for row in columns] == list(MediaRecord._fields)
