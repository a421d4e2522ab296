"""Read the little we keep from a photo's EXIF: camera, capture time and GPS position.

:func:`read_photo_metadata` takes the raw EXIF blob a loader found (see :mod:`media.images`)
and returns a :class:`PhotoMetadata`. EXIF is attacker-controlled, so the parser never raises
and drops unusable fields one by one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Final

from PIL import Image as PILImage

__all__ = ["PhotoMetadata", "camera_text", "read_photo_metadata"]

# EXIF in a JPEG is at most 64 KiB; other containers allow more, but nothing legitimate needs it.
_MAX_EXIF_BYTES: Final = 1_000_000
_MAX_CAMERA_NAME_LENGTH: Final = 100

# Tag ids: the Exif and GPS sub-IFD pointers, then tags inside IFD0, the Exif IFD, the GPS IFD.
_EXIF_IFD: Final = 0x8769
_GPS_IFD: Final = 0x8825
_MAKE: Final = 0x010F
_MODEL: Final = 0x0110
_DATE_TIME_ORIGINAL: Final = 0x9003
_OFFSET_TIME_ORIGINAL: Final = 0x9011
_GPS_LATITUDE_REF, _GPS_LATITUDE, _GPS_LONGITUDE_REF, _GPS_LONGITUDE = 1, 2, 3, 4
_EXIF_DATE = re.compile(r"\s*(\d{4})[:-](\d{2})[:-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_EXIF_OFFSET = re.compile(r"\s*([+-])(\d{2}):(\d{2})")
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class PhotoMetadata:
    """What we keep from EXIF; every field is ``None`` when absent or unreadable.

    ``taken_at`` is timezone-aware: DateTimeOriginal with OffsetTimeOriginal's offset when the
    camera wrote one, else the naive camera time labelled UTC (cameras record local time
    without saying which zone, so UTC is a label, not a conversion). ``latitude`` and
    ``longitude`` are signed decimal degrees (south and west negative).
    """

    camera_make: str | None
    camera_model: str | None
    taken_at: datetime | None
    latitude: float | None
    longitude: float | None


_NO_METADATA: Final = PhotoMetadata(None, None, None, None, None)


def read_photo_metadata(exif: bytes | None) -> PhotoMetadata:
    """Camera, capture time and position from a raw EXIF blob (with or without ``Exif\\0\\0``).

    Never raises: EXIF is attacker-controlled and often damaged by editors, so every field is
    read on its own and any failure just leaves that field ``None``.
    """
    if not exif or len(exif) > _MAX_EXIF_BYTES:
        return _NO_METADATA
    try:
        parsed = PILImage.Exif()
        parsed.load(exif)
    except Exception:  # PIL's TIFF parser raises many exception types on bad input
        return _NO_METADATA
    ifd0 = _safe_ifd(lambda: dict(parsed))
    exif_ifd = _safe_ifd(lambda: dict(parsed.get_ifd(_EXIF_IFD)))
    gps_ifd = _safe_ifd(lambda: dict(parsed.get_ifd(_GPS_IFD)))
    latitude = _coordinate(gps_ifd.get(_GPS_LATITUDE), gps_ifd.get(_GPS_LATITUDE_REF), "NS", 90)
    longitude = _coordinate(gps_ifd.get(_GPS_LONGITUDE), gps_ifd.get(_GPS_LONGITUDE_REF), "EW", 180)
    if latitude is None or longitude is None or (latitude, longitude) == (0.0, 0.0):
        # Half a position is useless, and 0,0 is what receivers write when they had no fix.
        latitude = longitude = None
    return PhotoMetadata(
        camera_make=camera_text(ifd0.get(_MAKE)),
        camera_model=camera_text(ifd0.get(_MODEL)),
        taken_at=_taken_at(exif_ifd.get(_DATE_TIME_ORIGINAL), exif_ifd.get(_OFFSET_TIME_ORIGINAL)),
        latitude=latitude,
        longitude=longitude,
    )


def _safe_ifd(read: Callable[[], dict[int, object]]) -> dict[int, object]:
    try:
        return read()
    except Exception:  # a broken sub-IFD must not hide the others
        return {}


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    return value if isinstance(value, str) else None


def camera_text(value: object) -> str | None:
    """A camera make or model as shown to its owner: control characters and runs of spaces
    collapsed, at most 100 characters; None when empty or not text."""
    text = _text(value)
    if text is None:
        return None
    cleaned = " ".join(_CONTROL_CHARACTERS.sub(" ", text).split())
    return cleaned[:_MAX_CAMERA_NAME_LENGTH] or None


def _taken_at(value: object, offset: object) -> datetime | None:
    text = _text(value)
    match = _EXIF_DATE.match(text) if text else None
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    try:
        naive = datetime(year, month, day, hour, minute, second)
    except ValueError:  # e.g. the "0000:00:00 00:00:00" placeholder
        return None
    return naive.replace(tzinfo=_exif_timezone(offset))


def _exif_timezone(offset: object) -> timezone:
    text = _text(offset)
    match = _EXIF_OFFSET.match(text) if text else None
    if match is None:
        return UTC
    sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    if delta >= timedelta(hours=24):
        return UTC
    return timezone(-delta if sign == "-" else delta)


def _coordinate(value: object, ref: object, hemispheres: str, limit: float) -> float | None:
    """Degrees/minutes/seconds rationals plus an N/S or E/W reference -> signed degrees."""
    ref_text = (_text(ref) or "").strip().upper()[:1]
    if not ref_text or ref_text not in hemispheres or not isinstance(value, tuple):
        return None
    try:
        parts = [float(part) for part in value[:3]]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not parts:
        return None
    whole, minutes, seconds = [*parts, 0.0, 0.0][:3]
    degrees = whole + minutes / 60 + seconds / 3600
    if not math.isfinite(degrees) or not 0 <= degrees <= limit:
        return None
    return -degrees if ref_text == hemispheres[1] else degrees
