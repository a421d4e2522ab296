"""Read the little we keep from a video's container tags: camera, capture time and position.

:func:`read_video_metadata` takes the tags FFmpeg's ``mov`` demuxer reports for an MP4 or
QuickTime file (``av.open(...).metadata``) and returns the same :class:`PhotoMetadata` a photo's
EXIF gives, so the owner sees a video's camera, time and place exactly as a photo's. Phones
write them as QuickTime ``mdta`` keys (``com.apple.quicktime.location.ISO6709``, ``.make``,
``.model``, ``.creationdate``) and as classic user data (``©xyz`` -> ``location``, ``©mak`` ->
``make``, ``©mod`` -> ``model``); the movie header's time is ``creation_time``.

Tags are attacker-controlled: the parser never raises and drops unusable fields one by one.
These values are for the owner only; the published renditions of a video carry none of them
(:mod:`media.video_renditions`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Final, TypeVar

from media.exif import PhotoMetadata, camera_text

__all__ = ["parse_iso6709", "read_video_metadata"]

_T = TypeVar("_T")

# In order of preference: the mdta keys are what current phones write; the user-data atoms
# are older (and what most cameras and editors write).
_LOCATION_KEYS: Final = ("com.apple.quicktime.location.ISO6709", "location", "location-eng")
_MAKE_KEYS: Final = ("com.apple.quicktime.make", "make")
_MODEL_KEYS: Final = ("com.apple.quicktime.model", "model")
# creationdate is the local time with its offset; creation_time (movie header) is UTC.
_TIME_KEYS: Final = ("com.apple.quicktime.creationdate", "creation_time", "date")
_MAX_TAG_LENGTH: Final = 200

# ISO 6709 point: latitude, longitude, optional altitude, optional CRS, optional final "/".
# Each coordinate is signed; its integer digits say whether it is degrees, degrees+minutes or
# degrees+minutes+seconds (DD / DDMM / DDMMSS for latitude, DDD / DDDMM / DDDMMSS for longitude).
_ISO6709: Final = re.compile(
    r"\s*(?P<lat>[+-]\d+(?:\.\d+)?)(?P<lon>[+-]\d+(?:\.\d+)?)(?:[+-]\d+(?:\.\d+)?)?"
    r"(?:CRS[A-Za-z0-9_:]*)?/?\s*"
)


def read_video_metadata(tags: Mapping[str, str]) -> PhotoMetadata:
    """Camera, capture time and position from a video's container tags. Never raises."""
    latitude = longitude = None
    for key in _LOCATION_KEYS:
        point = parse_iso6709(tags.get(key))
        if point is not None:
            latitude, longitude = point
            break
    return PhotoMetadata(
        camera_make=_first(tags, _MAKE_KEYS, camera_text),
        camera_model=_first(tags, _MODEL_KEYS, camera_text),
        taken_at=_first(tags, _TIME_KEYS, _timestamp),
        latitude=latitude,
        longitude=longitude,
    )


def parse_iso6709(text: object) -> tuple[float, float] | None:
    """Signed decimal (latitude, longitude) of an ISO 6709 point such as
    ``+48.8584+002.2945+035.000/``; None when malformed, out of range, or 0,0 (what receivers
    write when they had no fix)."""
    if not isinstance(text, str) or len(text) > _MAX_TAG_LENGTH:
        return None
    match = _ISO6709.fullmatch(text)
    if match is None:
        return None
    latitude = _coordinate(match["lat"], degree_digits=2, limit=90)
    longitude = _coordinate(match["lon"], degree_digits=3, limit=180)
    if latitude is None or longitude is None or (latitude, longitude) == (0.0, 0.0):
        return None
    return latitude, longitude


def _coordinate(text: str, *, degree_digits: int, limit: float) -> float | None:
    sign = -1.0 if text[0] == "-" else 1.0
    whole, _, fraction = text[1:].partition(".")
    parts: list[float]
    if len(whole) == degree_digits:
        parts = [float(text[1:])]
    elif len(whole) == degree_digits + 2:
        parts = [float(whole[:degree_digits]), float(whole[degree_digits:] + "." + fraction)]
    elif len(whole) == degree_digits + 4:
        parts = [
            float(whole[:degree_digits]),
            float(whole[degree_digits : degree_digits + 2]),
            float(whole[degree_digits + 2 :] + "." + fraction),
        ]
    else:
        return None
    if any(part >= 60 for part in parts[1:]):
        return None
    degrees = parts[0] + sum(part / 60.0**power for power, part in enumerate(parts[1:], start=1))
    if not math.isfinite(degrees) or degrees > limit:
        return None
    return sign * degrees


def _timestamp(text: str) -> datetime | None:
    """An ISO 8601 time (``2023-07-14T18:30:05+0200``, ``...Z``); a time without an offset is
    labelled UTC, as EXIF times are."""
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _first(
    tags: Mapping[str, str], keys: tuple[str, ...], parse: Callable[[str], _T | None]
) -> _T | None:
    """The first of `keys` whose value `parse` accepts."""
    for key in keys:
        value = tags.get(key)
        if isinstance(value, str) and len(value) <= _MAX_TAG_LENGTH:
            parsed = parse(value)
            if parsed is not None:
                return parsed
    return None
