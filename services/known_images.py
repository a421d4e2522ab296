"""Known-bad images: the PDQ blocklist, matching media against it, and its administration
(docs/moderation.md, "Known-bad images").

Every processed photo and video keyframe is hashed (media.pdq); a hash within
`max_distance` bits of a blocklist entry rejects the media item with a generic reason (the
uploader is not told that a list exists, nor which entry matched) and opens a moderation case
(source KNOWN_IMAGE) whose detail tells the moderators the distance, the entry and its source.
Hashes of low quality (flat, near-uniform pictures) are neither matched nor listed: such
hashes are close to many unrelated pictures.

PostgreSQL holds the blocklist (storage.pg.known_images); each process matches against an
in-memory multi-index (services.pdq_index) of it, rebuilt when the list's generation changes:
every look-up reads the generation first (one primary-key read), so an entry added or removed
by any process takes effect on the next look-up everywhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from media.pdq import PdqHash, parse_hex
from services import moderation_cases
from services.auth import Viewer
from services.errors import DomainError, UserErrorCode
from services.moderation_cases import CaseSource, Subject, SubjectKind
from services.pdq_index import MAX_DISTANCE, PdqIndex
from services.roles import Role, require_role
from storage.pg import Db, transaction
from storage.pg import known_images as known_store
from storage.pg import media as media_store
from storage.pg.known_images import KnownImageEntry, StoredFrameHash
from storage.pg.media import MediaRecord

DEFAULT_MAX_DISTANCE = MAX_DISTANCE
"""PDQ's reference match threshold: 31 of 256 bits."""
DEFAULT_MIN_QUALITY = 50
"""PDQ's reference: hashes of quality below 50 are not worth matching."""
REJECTION_REASON = "this file cannot be published"
"""What the uploader sees: nothing about the list or the entry."""
MAX_SOURCE_LENGTH = 100
MAX_HASHES_PER_CALL = 10_000


@dataclass(frozen=True, slots=True)
class FrameHash:
    """The PDQ hash of one picture of a media item: frame 0 is the photo (or a video's
    poster), 1.. a video's keyframes at `at_seconds`."""

    frame: int
    at_seconds: float | None
    pdq: PdqHash


@dataclass(frozen=True, slots=True)
class KnownImageMatch:
    entry_id: int
    distance: int
    frame: int
    source: str


@dataclass(frozen=True, slots=True)
class AddedKnownImages:
    """What an addition did: the new entries' ids, and how many hashes were listed already."""

    added_ids: list[int]
    already_listed: int


class Blocklist:
    """One process's matcher: the in-memory index of the blocklist at some generation.

    Safe to share between the tasks of one event loop (a rebuild is done once, under a lock).
    """

    def __init__(
        self, *, max_distance: int = DEFAULT_MAX_DISTANCE, min_quality: int = DEFAULT_MIN_QUALITY
    ) -> None:
        if not 0 <= max_distance <= MAX_DISTANCE:
            raise ValueError(f"max_distance must be between 0 and {MAX_DISTANCE}")
        self.max_distance = max_distance
        self.min_quality = min_quality
        self._generation: int | None = None
        self._index = PdqIndex([])
        self._lock = asyncio.Lock()

    async def current_index(self, db: Db) -> PdqIndex:
        """The index of the blocklist as it is now. Reads the generation (one query); when it
        changed, reads the whole list and rebuilds the index in a thread."""
        generation = await known_store.fetch_generation(db)
        if generation == self._generation:
            return self._index
        async with self._lock:
            if generation != self._generation:
                stored_generation, entries = await known_store.fetch_snapshot(db)
                self._index = await asyncio.to_thread(PdqIndex, entries)
                self._generation = stored_generation
            return self._index

    async def find(self, db: Db, hashes: Sequence[FrameHash]) -> KnownImageMatch | None:
        """The nearest blocklist entry within `max_distance` of any of the hashes of quality
        at least `min_quality`; None when there is none. Reads PostgreSQL (see current_index)."""
        usable = [item for item in hashes if item.pdq.quality >= self.min_quality]
        if not usable:
            return None
        index = await self.current_index(db)
        best: tuple[int, int, int] | None = None  # distance, entry id, frame
        for item in usable:
            found = index.search(item.pdq.value, self.max_distance)
            if found and (best is None or (found[0][1], found[0][0]) < best[:2]):
                best = (found[0][1], found[0][0], item.frame)
        if best is None:
            return None
        distance, entry_id, frame = best
        entries = await known_store.fetch_entries(db, [entry_id])
        # Removed since the index was built: the list no longer holds it, so no match.
        if not entries:
            return None
        return KnownImageMatch(entry_id, distance, frame, entries[0].source)


async def save_hashes(db: Db, media_id: int, hashes: Sequence[FrameHash]) -> None:
    """Store the media item's hashes (replacing a previous run's)."""
    await known_store.save_media_hashes(
        db,
        media_id,
        [
            StoredFrameHash(item.frame, item.at_seconds, item.pdq.value, item.pdq.quality)
            for item in hashes
        ],
    )


async def reject_known_image(db: Db, media_id: int, match: KnownImageMatch) -> MediaRecord | None:
    """End the PROCESSING media item REJECTED (generic reason) and open its KNOWN_IMAGE case,
    in one transaction; the updated record, or None when it was no longer PROCESSING (no case
    is opened then)."""
    async with transaction(db) as conn:
        rejected = await media_store.mark_failed(
            conn, media_id, status="REJECTED", reason=REJECTION_REASON
        )
        if rejected is not None:
            await moderation_cases.open_system_case(
                conn,
                Subject(SubjectKind.MEDIA, media_id),
                source=CaseSource.KNOWN_IMAGE,
                detail=describe_match(match),
            )
    return rejected


def describe_match(match: KnownImageMatch) -> str:
    """The case detail moderators read."""
    where = "the picture" if match.frame == 0 else f"video keyframe {match.frame}"
    return (
        f"PDQ distance {match.distance} (of 256 bits) between {where} and blocklist entry "
        f"{match.entry_id} (source: {match.source})"
    )


async def add_hashes(
    db: Db, viewer: Viewer, hex_hashes: Sequence[str], source: str
) -> AddedKnownImages:
    """An admin adds hashes written as 64 hex digits each, labelled with `source`.

    Raises DomainError FORBIDDEN (not an admin), INVALID_INPUT (no hash, too many, a hash that
    is not 64 hex digits, an empty or long source); nothing changed then. Side effects: the new
    entries (hashes already listed keep their first source), the list's generation.
    """
    await require_role(db, viewer, Role.ADMIN)
    label = _checked_source(source)
    values = _parsed(hex_hashes)
    added = await known_store.insert_entries(db, values, source=label, added_by=viewer.user_id)
    return AddedKnownImages(added, len(set(values)) - len(added))


async def add_media_hashes(
    db: Db, viewer: Viewer, media_id: int | None, source: str, *, min_quality: int
) -> AddedKnownImages:
    """An admin adds the hashes of a processed media item (an upload of the admin's, through
    the usual upload flow, or a reported one) to the blocklist: those of at least
    `min_quality` (KNOWN_IMAGE_MIN_QUALITY).

    Raises DomainError FORBIDDEN (not an admin, checked first), NOT_FOUND (no such media item;
    `media_id` None: an id that names none), INVALID_INPUT
    (it has no hash of sufficient quality: not processed, or a flat picture; a bad source);
    nothing changed then. Side effects as add_hashes.
    """
    await require_role(db, viewer, Role.ADMIN)  # first: to anyone else, every id is alike
    label = _checked_source(source)
    if media_id is None or not await media_store.fetch_media_by_ids(db, [media_id]):
        raise DomainError.single(UserErrorCode.NOT_FOUND, "No such media item.", "mediaId")
    stored = await known_store.fetch_media_hashes(db, media_id)
    values = [item.hash for item in stored if item.quality >= min_quality]
    if not values:
        raise DomainError.single(
            UserErrorCode.INVALID_INPUT,
            "This media item has no PDQ hash of sufficient quality (not processed yet, or a "
            "flat picture).",
            "mediaId",
        )
    added = await known_store.insert_entries(db, values, source=label, added_by=viewer.user_id)
    return AddedKnownImages(added, len(set(values)) - len(added))


async def fetch_entries(db: Db, entry_ids: Sequence[int]) -> list[KnownImageEntry]:
    """The entries with these ids (for the admin's answer); no side effects."""
    return await known_store.fetch_entries(db, entry_ids)


async def remove_entries(db: Db, viewer: Viewer, entry_ids: Sequence[int | None]) -> list[int]:
    """An admin removes blocklist entries; the ids that existed (the others, and None for an id
    that names no entry, are ignored).

    Raises DomainError FORBIDDEN (not an admin, checked first), INVALID_INPUT (not 1 to
    MAX_HASHES_PER_CALL ids); nothing changed then. Side effects: the entries, the list's
    generation. Media already rejected stay rejected (their cases say why).
    """
    await require_role(db, viewer, Role.ADMIN)
    if not 1 <= len(entry_ids) <= MAX_HASHES_PER_CALL:
        raise DomainError.single(
            UserErrorCode.INVALID_INPUT, f"Give 1 to {MAX_HASHES_PER_CALL} ids.", "knownImageIds"
        )
    return await known_store.delete_entries(db, [item for item in entry_ids if item is not None])


async def add_as_operator(db: Db, values: Sequence[bytes], source: str) -> AddedKnownImages:
    """The operator's addition (`shutter admin add-known-images`), no account acting.
    Raises DomainError INVALID_INPUT for a bad source or no hash."""
    label = _checked_source(source)
    if not values:
        raise DomainError.single(UserErrorCode.INVALID_INPUT, "No hash to add.", "hashes")
    added = await known_store.insert_entries(db, values, source=label, added_by=None)
    return AddedKnownImages(added, len(set(values)) - len(added))


async def remove_as_operator(db: Db, entry_ids: Sequence[int]) -> list[int]:
    """The operator's removal (`shutter admin remove-known-images`); the ids that existed."""
    return await known_store.delete_entries(db, entry_ids)


def _checked_source(source: str) -> str:
    label = source.strip()
    if not 1 <= len(label) <= MAX_SOURCE_LENGTH:
        raise DomainError.single(
            UserErrorCode.INVALID_INPUT,
            f"The source is 1 to {MAX_SOURCE_LENGTH} characters.",
            "source",
        )
    return label


def _parsed(hex_hashes: Sequence[str]) -> list[bytes]:
    if not 1 <= len(hex_hashes) <= MAX_HASHES_PER_CALL:
        raise DomainError.single(
            UserErrorCode.INVALID_INPUT,
            f"Give 1 to {MAX_HASHES_PER_CALL} hashes.",
            "hashes",
        )
    values = []
    for position, text in enumerate(hex_hashes):
        try:
            values.append(parse_hex(text))
        except ValueError:
            raise DomainError.single(
                UserErrorCode.INVALID_INPUT,
                f"Hash {position + 1} is not a PDQ hash (64 hexadecimal digits).",
                "hashes",
            ) from None
    return values
