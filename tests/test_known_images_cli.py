"""`shutter admin add-known-images` and `remove-known-images`, run as the operator runs them
(a child process on the test database)."""

from __future__ import annotations

from pathlib import Path

from media.pdq import hash_encoded
from resources import Resources
from tests.shutter_admin import shutter_admin
from tests.workers.test_known_images import jpeg, pattern


async def listed(resources: Resources) -> list[tuple[object, ...]]:
    rows = await resources.db.fetch(
        "SELECT id, hash, source, added_by FROM known_images ORDER BY id"
    )
    return [tuple(row) for row in rows]


async def test_hashes_from_a_hex_file_and_an_image_are_added_then_removed(
    clean: Resources, tmp_path: Path
) -> None:
    image = tmp_path / "known.jpg"
    image.write_bytes(jpeg(pattern(21)))
    listing = tmp_path / "list.txt"
    listing.write_text(f"# exchange export\n{'a' * 64},100\n\n{'B' * 64} 90\n")

    added = shutter_admin(
        clean,
        "add-known-images",
        "--hex-file",
        str(listing),
        "--image",
        str(image),
        "--source",
        "exchange-2026-12",
    )
    assert (added.returncode, added.stdout) == (
        0,
        "added 3 hash(es) with source 'exchange-2026-12'; 0 already listed\n",
    )
    expected = [
        (1, bytes.fromhex("a" * 64), "exchange-2026-12", None),
        (2, bytes.fromhex("b" * 64), "exchange-2026-12", None),
        (3, hash_encoded(image.read_bytes()).value, "exchange-2026-12", None),
    ]
    assert await listed(clean) == expected

    again = shutter_admin(clean, "add-known-images", "--hex-file", str(listing), "--source", "x")
    assert again.stdout == "added 0 hash(es) with source 'x'; 2 already listed\n"

    removed = shutter_admin(clean, "remove-known-images", "1", "7")
    assert (removed.returncode, removed.stdout) == (0, "removed 1 entry: [1]\n")
    assert await listed(clean) == expected[1:]


async def test_a_bad_line_or_a_flat_image_adds_nothing(clean: Resources, tmp_path: Path) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text(f"{'a' * 64}\nnot a hash\n")
    flat = tmp_path / "flat.png"
    flat.write_bytes(
        bytes.fromhex(
            "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
            "1f15c4890000000d49444154789c6360f8cf00000301010018dd8db00000000049454e44ae426082"
        )
    )

    bad_line = shutter_admin(clean, "add-known-images", "--hex-file", str(listing), "--source", "x")
    assert (bad_line.returncode, bad_line.stdout) == (
        1,
        f"nothing added: {listing}:2: not a PDQ hash (64 hex digits)\n",
    )
    flat_image = shutter_admin(clean, "add-known-images", "--image", str(flat), "--source", "x")
    assert flat_image.returncode == 1
    assert flat_image.stdout.startswith(f"nothing added: {flat}: PDQ quality ")
    assert await listed(clean) == []
