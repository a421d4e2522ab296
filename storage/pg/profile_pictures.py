"""Queries on `profile_pictures`: the published square crops of each user's chosen photo."""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from storage.pg import Db
from storage.pg.media import StoredVariant


def _variants(text: str) -> tuple[StoredVariant, ...]:
    return tuple(StoredVariant(**item) for item in orjson.loads(text))


async def fetch_pictures(db: Db, user_ids: Sequence[int]) -> dict[int, tuple[StoredVariant, ...]]:
    """{user id: the crops of their picture} for the users among `user_ids` that have one."""
    rows = await db.fetch(
        "SELECT user_id, variants FROM profile_pictures WHERE user_id = ANY($1::bigint[])",
        user_ids,
    )
    return {row["user_id"]: _variants(row["variants"]) for row in rows}


async def replace_picture(
    db: Db, user_id: int, media_id: int, variants: Sequence[StoredVariant]
) -> tuple[StoredVariant, ...]:
    """Make these crops the user's picture; returns the crops it replaced (empty if none).
    Side effect: one statement (the old row read and replaced together)."""
    row = await db.fetchrow(
        """
        WITH old AS (SELECT variants FROM profile_pictures WHERE user_id = $1 FOR UPDATE),
        upsert AS (
            INSERT INTO profile_pictures (user_id, media_id, variants) VALUES ($1, $2, $3::jsonb)
            ON CONFLICT (user_id) DO UPDATE
               SET media_id = EXCLUDED.media_id, variants = EXCLUDED.variants, created_at = now()
        )
        SELECT (SELECT variants FROM old) AS old_variants
        """,
        user_id,
        media_id,
        orjson.dumps([variant._asdict() for variant in variants]).decode(),
    )
    old = row["old_variants"] if row else None
    return _variants(old) if old else ()


async def delete_picture(db: Db, user_id: int) -> tuple[StoredVariant, ...]:
    """Remove the user's picture; returns its crops (empty if there was none)."""
    old = await db.fetchval(
        "DELETE FROM profile_pictures WHERE user_id = $1 RETURNING variants", user_id
    )
    return _variants(old) if old else ()
