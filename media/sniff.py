"""Identify an uploaded file's media type from its first bytes (magic numbers).

Pure function, no I/O. The declared content type and the file extension of an upload are
untrusted; only what these bytes say decides which decoder may ever see the file. Anything we
do not explicitly accept (SVG, PDF, text, TIFF, BMP, M4A audio, empty input, ...) is
reported as ``None`` so callers reject it before any decoder runs.

ISO base media files (HEIC/HEIF/AVIF/MP4/QuickTime) are told apart by the ``ftyp`` box that
starts them: the major brand decides when we know it; otherwise the compatible brands are
searched in a fixed priority order. Pass at least :data:`SNIFF_BYTES` bytes so that the whole
``ftyp`` box is visible; brands beyond the given head are ignored.
"""

from __future__ import annotations

SNIFF_BYTES = 256
"""How many leading bytes callers should read and pass to :func:`sniff_content_type`."""

JPEG = "image/jpeg"
PNG = "image/png"
WEBP = "image/webp"
GIF = "image/gif"
HEIC = "image/heic"
HEIF = "image/heif"
AVIF = "image/avif"
MP4 = "video/mp4"
QUICKTIME = "video/quicktime"

IMAGE_CONTENT_TYPES = frozenset({JPEG, PNG, WEBP, GIF, HEIC, HEIF, AVIF})
VIDEO_CONTENT_TYPES = frozenset({MP4, QUICKTIME})

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG is SOI (FFD8) followed by the first marker's FF; a bare FFD8 is not enough to be sure.
_JPEG_SIGNATURE = b"\xff\xd8\xff"
_GIF_SIGNATURES = (b"GIF87a", b"GIF89a")

# ftyp brands -> content type. "mif1"/"msf1" are the generic HEIF brands that AVIF and HEIC
# files also list, so they only mean plain HEIF when nothing more specific is present.
_BRAND_TYPES: dict[bytes, str] = {
    b"avif": AVIF,
    b"avis": AVIF,
    b"heic": HEIC,
    b"heix": HEIC,
    b"heim": HEIC,
    b"heis": HEIC,
    b"hevc": HEIC,
    b"hevx": HEIC,
    b"mif1": HEIF,
    b"msf1": HEIF,
    b"qt  ": QUICKTIME,
    b"isom": MP4,
    b"iso2": MP4,
    b"iso3": MP4,
    b"iso4": MP4,
    b"iso5": MP4,
    b"iso6": MP4,
    b"mp41": MP4,
    b"mp42": MP4,
    b"avc1": MP4,
    b"M4V ": MP4,
}
_GENERIC_HEIF_BRANDS = frozenset({b"mif1", b"msf1"})
# iTunes audio files list "isom"/"mp42" as compatible brands but carry no picture.
_AUDIO_ONLY_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P "})
# When the major brand is unknown or generic, the most specific compatible brand wins.
_COMPATIBLE_PRIORITY = (AVIF, HEIC, HEIF, QUICKTIME, MP4)
# An ftyp box lists a handful of brands; a huge declared size means this is not an ftyp box.
_MAX_FTYP_BOX_SIZE = 4096


def sniff_content_type(head: bytes) -> str | None:
    """Return the accepted content type that ``head`` (a file's first bytes) starts with.

    Returns one of the module's content type constants, or ``None`` for anything else,
    including empty or too-short input. Never raises for any input.
    """
    if head.startswith(_JPEG_SIGNATURE):
        return JPEG
    if head.startswith(_PNG_SIGNATURE):
        return PNG
    if head.startswith(_GIF_SIGNATURES):
        return GIF
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    return _sniff_iso_bmff(head)


def _sniff_iso_bmff(head: bytes) -> str | None:
    """Classify an ISO base media file by the brands of its leading ``ftyp`` box."""
    if len(head) < 12 or head[4:8] != b"ftyp":
        return None
    box_size = int.from_bytes(head[:4], "big")
    if box_size < 16 or box_size > _MAX_FTYP_BOX_SIZE:
        return None
    major_brand = head[8:12]
    if major_brand in _AUDIO_ONLY_BRANDS:
        return None
    if major_brand in _BRAND_TYPES and major_brand not in _GENERIC_HEIF_BRANDS:
        return _BRAND_TYPES[major_brand]
    box = head[: min(box_size, len(head))]
    # Compatible brands follow the 4-byte minor version, 4 bytes each.
    brands = [box[i : i + 4] for i in range(16, len(box) - 3, 4)]
    found = {_BRAND_TYPES[brand] for brand in [major_brand, *brands] if brand in _BRAND_TYPES}
    return next((kind for kind in _COMPATIBLE_PRIORITY if kind in found), None)
