"""media.sniff: magic numbers and ftyp brands."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from media.sniff import SNIFF_BYTES, sniff_content_type
from tests import media_fixtures as fixtures


def ftyp(major: bytes, *compatible: bytes, declared_size: int | None = None) -> bytes:
    """An ftyp box (size, 'ftyp', major brand, minor version 0, compatible brands)."""
    body = b"ftyp" + major + b"\x00\x00\x00\x00" + b"".join(compatible)
    size = len(body) + 4 if declared_size is None else declared_size
    return struct.pack(">I", size) + body + b"\x00\x00\x00\x08free"


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (fixtures.jpeg_with_exif, "image/jpeg"),
        (fixtures.png_with_alpha, "image/png"),
        (fixtures.animated_gif, "image/gif"),
        (fixtures.animated_webp, "image/webp"),
        (fixtures.webp_still, "image/webp"),
        (fixtures.heic, "image/heic"),
        (fixtures.avif, "image/avif"),
        (fixtures.mp4, "video/mp4"),
        (fixtures.bomb_png_header, "image/png"),
        (fixtures.truncated_jpeg, "image/jpeg"),
    ],
)
def test_generated_media(make: object, expected: str) -> None:
    assert callable(make)
    data = make()
    assert isinstance(data, bytes)

    assert sniff_content_type(data[:SNIFF_BYTES]) == expected


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xdb", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
        (b"GIF87a\x01\x00", "image/gif"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8L", "image/webp"),
        (ftyp(b"heic", b"mif1", b"heic"), "image/heic"),
        (ftyp(b"heix", b"mif1"), "image/heic"),
        (ftyp(b"hevc", b"msf1"), "image/heic"),
        (ftyp(b"mif1", b"heic"), "image/heic"),
        (ftyp(b"mif1", b"miaf"), "image/heif"),
        (ftyp(b"msf1"), "image/heif"),
        (ftyp(b"avif", b"mif1", b"miaf"), "image/avif"),
        (ftyp(b"avis", b"msf1"), "image/avif"),
        (ftyp(b"mif1", b"avif", b"miaf"), "image/avif"),
        (ftyp(b"isom", b"iso2", b"avc1", b"mp41"), "video/mp4"),
        (ftyp(b"mp42", b"isom"), "video/mp4"),
        (ftyp(b"M4V ", b"M4A ", b"mp42"), "video/mp4"),
        (ftyp(b"qt  ", b"qt  "), "video/quicktime"),
        # Unknown major brand: the compatible brands decide.
        (ftyp(b"3gp5", b"isom", b"3gp5"), "video/mp4"),
    ],
)
def test_magic_numbers(head: bytes, expected: str) -> None:
    assert sniff_content_type(head) == expected


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"\xff\xd8",  # SOI alone is not enough
        b"\xff",
        b"GIF8",
        b"RIFF\x24\x00\x00\x00WAVEfmt ",
        b"RIFF\x24\x00\x00\x00",
        fixtures.SVG_DISGUISED_AS_JPEG,
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"%PDF-1.7\n",
        b"II*\x00\x08\x00\x00\x00",
        b"MM\x00*\x00\x00\x00\x08",
        b"BM6\x00\x00\x00",
        b"\x00\x00\x01\x00\x01\x00",  # ICO
        b"\x1aE\xdf\xa3",  # Matroska
        b"hello world, this is text",
        ftyp(b"M4A ", b"isom", b"mp42"),  # iTunes audio
        ftyp(b"crx "),  # Canon raw
        ftyp(b"abcd", b"efgh"),
        ftyp(b"heic", declared_size=8),  # ftyp box too small to be real
        ftyp(b"heic", declared_size=1 << 20),  # or too large
        b"\x00\x00\x00\x18ftyp",  # truncated before the brand
        b"\x00\x00\x00\x18moov\x00\x00\x00\x00",  # pre-ftyp QuickTime is not accepted
    ],
)
def test_everything_else_is_none(head: bytes) -> None:
    assert sniff_content_type(head) is None


def test_brands_beyond_the_head_are_ignored() -> None:
    head = ftyp(b"mif1", b"miaf", b"heic")

    assert sniff_content_type(head) == "image/heic"
    assert sniff_content_type(head[:20]) == "image/heif"


@given(st.binary(max_size=64))
def test_never_raises(head: bytes) -> None:
    assert sniff_content_type(head) in {
        None,
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/gif",
        "image/heic",
        "image/heif",
        "image/avif",
        "video/mp4",
        "video/quicktime",
    }
