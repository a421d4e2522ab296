"""Queries on `known_images` (the PDQ blocklist), its generation counter, and
`media_pdq_hashes` (services/known_images.py holds the rules)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import asyncpg

from storage.pg import Connection, Db


class KnownImageEntry(NamedTuple):
    id: int
    hash: bytes
    source: str


class StoredFrameHash(NamedTuple):
    """One PDQ hash of a media item: frame 0 is the photo or poster, 1.. a video's keyframes."""

    frame: int
    at_seconds: float | None
    hash: bytes
    quality: int


async def fetch_generation(db: Db) -> int:
    """The blocklist's generation: changes whenever an entry is added or removed (0 before
    any change)."""
    generation: int = await db.fetchval(
        "SELECT coalesce((SELECT generation FROM known_images_generation), 0)"
    )
    return generation


async def fetch_snapshot(db: Db) -> tuple[int, list[tuple[int, bytes]]]:
    """The generation and every (id, hash) of the blocklist, read in one repeatable-read
    transaction so that the two agree."""
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn:
            return await _snapshot(conn)
    return await _snapshot(db)


async def _snapshot(conn: Connection) -> tuple[int, list[tuple[int, bytes]]]:
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        generation = await fetch_generation(conn)
        rows = await conn.fetch("SELECT id, hash FROM known_images")
    return generation, [(row["id"], row["hash"]) for row in rows]


async def insert_entries(
    db: Db, hashes: Sequence[bytes], *, source: str, added_by: int | None
) -> list[int]:
    """Add the hashes not yet listed (a listed hash keeps its first source), ids in the order
    given; the new ids."""
    rows = await db.fetch(
        """
        INSERT INTO known_images (hash, source, added_by)
        SELECT h, $2::text, $3::bigint FROM unnest($1::bytea[]) WITH ORDINALITY AS given (h, n)
         ORDER BY n
        ON CONFLICT (hash) DO NOTHING
        RETURNING id
        """,
        list(dict.fromkeys(hashes)),
        source,
        added_by,
    )
    return [row["id"] for row in rows]


async def delete_entries(db: Db, ids: Sequence[int]) -> list[int]:
    """Remove these entries; the ids that existed."""
    rows = await db.fetch(
        "DELETE FROM known_images WHERE id = ANY($1::bigint[]) RETURNING id", list(ids)
    )
    return sorted(row["id"] for row in rows)


async def fetch_entries(db: Db, ids: Sequence[int]) -> list[KnownImageEntry]:
    rows = await db.fetch(
        "SELECT id, hash, source FROM known_images WHERE id = ANY($1::bigint[]) ORDER BY id",
        list(ids),
    )
    return [KnownImageEntry(row["id"], row["hash"], row["source"]) for row in rows]


async def save_media_hashes(db: Db, media_id: int, hashes: Sequence[StoredFrameHash]) -> None:
    """Replace the media item's stored hashes with these (a rerun computes the same)."""
    await db.execute("DELETE FROM media_pdq_hashes WHERE media_id = $1", media_id)
    await db.executemany(
        """
        INSERT INTO media_pdq_hashes (media_id, frame, at_seconds, hash, quality)
        VALUES ($1, $2, $3, $4, $5)
        """,
        [(media_id, *item) for item in hashes],
    )


async def fetch_media_hashes(db: Db, media_id: int) -> list[StoredFrameHash]:
    rows = await db.fetch(
        """
        SELECT frame, at_seconds, hash, quality FROM media_pdq_hashes
         WHERE media_id = $1 ORDER BY frame
        """,
        media_id,
    )
    return [StoredFrameHash(r["frame"], r["at_seconds"], r["hash"], r["quality"]) for r in rows]
