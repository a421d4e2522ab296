"""`shutter admin add-known-images` and `shutter admin remove-known-images` (cli.py): the
operator's way to the known-bad image blocklist (services.known_images), e.g. to load a hash
exchange's list before any admin account exists."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from media.images import RejectedMediaError
from media.pdq import hash_encoded, parse_hex
from services import known_images
from services.errors import DomainError
from settings import Settings
from storage.pg import create_pool


def read_hex_file(path: Path) -> list[bytes]:
    """The hashes of a text file: one PDQ hash (64 hex digits) per line, as exchanges write
    them; blank lines and lines starting with # are skipped, and anything after the hash on a
    line (a quality, a comma-separated field) is ignored. ValueError names a bad line."""
    hashes = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        first = text.replace(",", " ").split()[0]
        try:
            hashes.append(parse_hex(first))
        except ValueError:
            raise ValueError(f"{path}:{number}: not a PDQ hash (64 hex digits)") from None
    return hashes


def hash_images(paths: Sequence[Path], min_quality: int) -> list[bytes]:
    """The PDQ hashes of image files. ValueError names a file that cannot be read or whose
    hash is of too low a quality to list (a flat picture)."""
    hashes = []
    for path in paths:
        try:
            pdq = hash_encoded(path.read_bytes())
        except (OSError, RejectedMediaError) as error:
            raise ValueError(f"{path}: cannot be read as an image ({error})") from None
        if pdq.quality < min_quality:
            raise ValueError(
                f"{path}: PDQ quality {pdq.quality} is below {min_quality} (a flat picture "
                "matches too many others to be listed)"
            )
        hashes.append(pdq.value)
    return hashes


async def add_known_images(
    settings: Settings,
    *,
    hex_files: Sequence[Path],
    images: Sequence[Path],
    source: str,
    out: TextIO = sys.stdout,
) -> int:
    """Add the hashes of the files and images to the blocklist; prints what it did and returns
    the exit status (1: refused, nothing added)."""
    try:
        values = [value for path in hex_files for value in read_hex_file(path)]
        values += hash_images(images, settings.known_image_min_quality)
    except (OSError, ValueError) as error:
        out.write(f"nothing added: {error}\n")
        return 1
    assert settings.database_url
    pool = await create_pool(settings.database_url, min_size=1, max_size=1)
    try:
        added = await known_images.add_as_operator(pool, values, source)
    except DomainError as error:
        out.write(f"nothing added: {error}\n")
        return 1
    finally:
        await pool.close()
    out.write(
        f"added {len(added.added_ids)} hash(es) with source {source.strip()!r}; "
        f"{added.already_listed} already listed\n"
    )
    return 0


async def remove_known_images(
    settings: Settings, entry_ids: Sequence[int], out: TextIO = sys.stdout
) -> int:
    """Remove blocklist entries by id; prints which existed. Exit status 0."""
    assert settings.database_url
    pool = await create_pool(settings.database_url, min_size=1, max_size=1)
    try:
        removed = await known_images.remove_as_operator(pool, entry_ids)
    finally:
        await pool.close()
    out.write(f"removed {len(removed)} entr{'y' if len(removed) == 1 else 'ies'}: {removed}\n")
    return 0
